"""The HR console's pages with an agency of 100,000 ASN and 1,000,000 ratings in PostgreSQL.

Loads a fresh database (roster and ratings by COPY as bench/standings.py does, the quarter closed
and published, the next quarter open with as many ratings, a chat account per ASN, three
broadcasts to everyone, 4-in-1 cases, a long audit log),
serves the console on a real port exactly as `abdi serve` does, signs in the way an officer
does (NIP, then the code Abdi sent to the officer's chat), and times each page: every menu page,
the first detail page each list links to, and a roster search. Beside them, in the same run, a
bare aiohttp handler returning a page of the same size: the floor of the machine.

    python -m bench.web_console [--employees 100000] [--ratings-per 10] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
from aiohttp import web
from sqlalchemy import select

from bench.database import fresh_app, open_quarter
from bench.standings import SEED_SQL, _pct, load
from bot import heap
from bot.app import App
from bot.hr_web.app import mount
from bot.services import periods
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting.audiences import EVERYONE, Audience
from bot.services.quarters import QuarterRef
from bot.services.rating_scheme import load_scheme
from bot.web import application, serving
from storage.models import Agency, Delivery, Employee, RatingPeriod

GOAL_MS = 300.0
HR_ID = 1  # the first employee of the load is made HR
DETAIL = re.compile(r'href="(/hr/(?:roster|periods|broadcasts|desk)/\d+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def seed(app: App, dsn: str, employees: int, per: int) -> None:
    """The office: roster, a published quarter, accounts, a broadcast, cases, an audit log."""
    agency_id, period_id, scheme = await open_quarter(app)
    await load(dsn, employees, per, agency_id, period_id)
    async with app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme, "bench")
    async with app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.publish_period(session, period, scheme, "bench")
    conn = await asyncpg.connect(dsn)
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "account",
            records=[
                (agency_id, "telegram", f"t{e}", f"t{e}", e, True, now, now)
                for e in range(1, employees + 1)
            ],
            columns=[
                "agency_id", "channel", "user_ref", "chat_ref", "employee_id", "reachable",
                "linked_at", "created_at",
            ],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO employee_role (employee_id, role, granted_at) VALUES ($1, 'hr', now())",
            HR_ID,
        )
        await conn.copy_records_to_table(
            "audit_log",
            records=[
                (agency_id, f"employee:{1 + i % employees}", "rating.save", f"employee:{i}",
                 "{}", now - timedelta(seconds=i))
                for i in range(500_000)
            ],
            columns=["agency_id", "actor", "action", "target", "detail", "at"],
        )  # fmt: skip
    finally:
        await conn.close()
    await open_next_quarter(app, dsn, agency_id, per, employees)
    async with app.sessions() as session, session.begin():
        agency = await session.get(Agency, agency_id)
        assert agency is not None
        for n in range(3):
            sent = await broadcasts.create(
                session, agency, Audience(EVERYONE), actor=f"employee:{HR_ID}",
                text=f"Apel pagi #{n}: Senin pukul 07.30 di halaman kantor.",
            )  # fmt: skip
            await broadcasts.release(session, sent, datetime.now(UTC))
    conn = await asyncpg.connect(dsn)
    try:
        # Most of them went out; a few failed.
        await conn.execute("UPDATE delivery SET status = 'sent' WHERE id % 50 <> 0")
        await conn.execute("UPDATE delivery SET status = 'failed' WHERE id % 50 = 0")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def open_next_quarter(app: App, dsn: str, agency_id: int, per: int, employees: int) -> None:
    """2025-Q2, open, with as many ratings again: its participation is counted live."""
    async with app.sessions() as session, session.begin():
        agency = await session.get(Agency, agency_id)
        assert agency is not None
        scheme = await load_scheme(session, agency_id)
        opened = await periods.open_quarter(
            session, agency, QuarterRef(2025, 2), scheme, "bench",
            closes_at=datetime.now(UTC) + timedelta(days=1),
        )  # fmt: skip
        period_id = opened.id
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SEED_SQL[0])
        await conn.execute(SEED_SQL[3], period_id, per, employees)
    finally:
        await conn.close()


async def sign_in(http: aiohttp.ClientSession, base: str, app: App) -> None:
    login = await (await http.get(f"{base}/hr/login")).text()
    token = CSRF.search(login)
    assert token, login
    async with app.sessions() as session:
        hr = await session.get(Employee, HR_ID)
        assert hr is not None
        nip = hr.nip
    await http.post(f"{base}/hr/login", data={"csrf": token[1], "nip": nip})
    async with app.sessions() as session:
        code = await session.scalar(
            select(Delivery.params)
            .where(Delivery.source == "web_login")
            .order_by(Delivery.id.desc())
            .limit(1)
        )
    assert code, "no sign-in code was sent"
    done = await http.post(
        f"{base}/hr/login/code", data={"csrf": token[1], "nip": nip, "code": code["code"]}
    )
    assert done.status == 200 and "/hr/login" not in str(done.url), await done.text()


async def timed(
    http: aiohttp.ClientSession, url: str, requests: int
) -> tuple[list[float], int, float]:
    """Latencies in ms of `requests` GETs one after another, the page's size, and the first
    GET's latency (the one that counts what the page keeps a while); none when it is missing."""
    cold = 0.0
    for n in range(3):  # warm caches and the connection
        t0 = time.perf_counter()
        async with http.get(url) as answer:
            body = await answer.read()
            if answer.status == 404:
                return [], 0, 0.0
        if n == 0:
            cold = (time.perf_counter() - t0) * 1000
    samples = []
    for _ in range(requests):
        t0 = time.perf_counter()
        async with http.get(url) as answer:
            body = await answer.read()
            assert answer.status == 200, (url, answer.status)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, len(body), cold


async def bare(size: int, requests: int) -> list[float]:
    """A bare aiohttp handler returning `size` bytes of HTML: the floor of one request."""
    page = ("<p>" + "x" * max(0, size - 7) + "</p>").encode()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="text/html")

    bare_app = web.Application()
    bare_app.router.add_get("/", handler)
    async with serving(bare_app, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        samples, _, _ = await timed(http, f"http://127.0.0.1:{port}/", requests)
    return samples


async def main(employees: int, per: int, requests: int) -> None:
    async with fresh_app("abdi_bench_web") as (app, dsn):
        t0 = time.perf_counter()
        await seed(app, dsn, employees, per)
        print(f"loaded {employees} ASN, ~{employees * per} ratings, accounts, 3 broadcasts to "
              f"everyone, 500,000 audit rows in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        web_app = application(app)
        mount(web_app, app)
        heap.settle()  # as `abdi serve` does once it has started
        jar = aiohttp.CookieJar(unsafe=True)
        async with (
            serving(web_app, "127.0.0.1", 0) as port,
            aiohttp.ClientSession(cookie_jar=jar) as http,
        ):
            base = f"http://127.0.0.1:{port}"
            await sign_in(http, base, app)
            urls = ["/hr/", "/hr/roster", "/hr/roster?q=ASN%205000", "/hr/periods",
                    "/hr/broadcasts", "/hr/desk", "/hr/audit"]  # fmt: skip
            for page in list(urls):
                async with http.get(base + page) as answer:
                    # Every detail page a list links to: the periods list links both quarters.
                    found = DETAIL.findall(await answer.text())
                urls += [url for url in dict.fromkeys(found) if url not in urls][:2]
            results = []
            for url in urls:
                samples, size, cold = await timed(http, base + url, requests)
                results.append((url, samples, size, cold))
        floor = await bare(max(size for _, _, size, _ in results) or 1024, requests)
        floor_p99 = _pct(floor, 0.99)
        print(f"\n{'page':34} {'p50 ms':>8} {'p99 ms':>8} {'first':>8} {'KiB':>6} "
              f"{'p99/bare':>9}  goal")  # fmt: skip
        print(f"{'bare aiohttp (same size)':34} {statistics.median(floor):8.1f} "
              f"{floor_p99:8.1f} {'':>8} {'':>6} {1:9.1f}")  # fmt: skip
        for url, samples, size, cold in results:
            if not samples:
                print(f"{url:34} (no such page)")
                continue
            p99 = _pct(samples, 0.99)
            mark = "ok" if p99 < GOAL_MS else "OVER"
            print(f"{url:34} {statistics.median(samples):8.1f} {p99:8.1f} {cold:8.1f} "
                  f"{size / 1024:6.1f} {p99 / floor_p99:9.1f}  {mark} "
                  f"(<{GOAL_MS:.0f})")  # fmt: skip
        print(
            "\nfirst: the first view's latency, which counts what a page then keeps a while "
            "(participation, reach); p50/p99 are of the views after it"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--ratings-per", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.employees, args.ratings_per, args.requests))
