"""The console's roster page at scale: an agency of 100,000 employees in PostgreSQL.

Loads a fresh database with COPY, signs an HR officer in (a session row, as the login leaves it),
then times through the real aiohttp application: the list (first page, a deep page, a search by
name and by NIP, a unit), an employee's card, the whole CSV export, and the upload's preview
of that export (read + validate + plan, nothing written) and its confirmation, each a background
job: the time until its page shows the report, and how soon the request answered. The bare baseline,
measured in the same run on the same server, is GET /healthz.

    python -m bench.roster_page [--employees 100000] [--requests 50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bench.database import fresh_app
from bot.hr_web.app import mount
from bot.hr_web.context import COOKIE, new_token, token_hash
from bot.web import application
from storage.models import Agency, EmployeeRole, WebSession

UNIT_SIZE = 50
FIRST = ("Ani", "Budi", "Citra", "Dedi", "Eka", "Fajar", "Gita", "Hadi", "Indah", "Joko", "Sri")
LAST = ("Hidayat", "Harahap", "Siregar", "Maharani", "Santoso", "Wibowo", "Lubis", "Nasution")


def nip(i: int) -> str:
    """A distinct well-formed PNS NIP for each i below 719,280 (birth 1970..1999, appointed at
    25; year, gender, serial and birth month drawn from i's digits)."""
    rest, year = divmod(i, 30)
    rest, gender = divmod(rest, 2)
    rest, serial = divmod(rest, 999)
    born = 1970 + year
    return f"{born}{rest % 12 + 1:02d}01{born + 25}03{gender + 1}{serial + 1:03d}"


async def load(dsn: str, employees: int, agency_id: int) -> None:
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    units = (employees + UNIT_SIZE - 1) // UNIT_SIZE
    await conn.copy_records_to_table(
        "unit",
        records=[(u + 1, agency_id, f"Unit {u + 1}") for u in range(units)],
        columns=["id", "agency_id", "name"],
    )
    rows = []
    for i in range(employees):
        unit = i // UNIT_SIZE
        head = unit * UNIT_SIZE + 1
        rows.append(
            (
                i + 1,
                agency_id,
                nip(i),
                f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
                "Staf",
                unit + 1,
                None if i % UNIT_SIZE == 0 else head,
                "PNS",
                f"62812{i:08d}",  # stored normalised, as an import leaves it
                "active",
                now,
                now,
            )
        )
    columns = ["id", "agency_id", "nip", "name", "position", "unit_id", "supervisor_id", "kind"]
    columns += ["phone", "status", "created_at", "updated_at"]
    await conn.copy_records_to_table("employee", records=rows, columns=columns)
    await conn.execute("SELECT setval('employee_id_seq', $1)", employees)
    await conn.execute("SELECT setval('unit_id_seq', $1)", units)
    accounts = [
        (a, agency_id, "telegram", f"u{e}", f"u{e}", e, now, True, now)
        for a, e in enumerate(range(1, employees + 1, 3), start=1)
    ]
    await conn.copy_records_to_table(
        "account",
        records=accounts,
        columns=[
            "id",
            "agency_id",
            "channel",
            "user_ref",
            "chat_ref",
            "employee_id",
            "linked_at",
            "reachable",
            "created_at",
        ],
    )
    await conn.execute("SELECT setval('account_id_seq', $1)", len(accounts))
    await conn.execute("ANALYZE")
    await conn.close()


async def timed(client: TestClient, path: str, n: int, **params: str) -> tuple[float, float]:
    """p50 and max in ms of `n` GETs of `path`."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        answer = await client.get(path, params=params)
        await answer.read()
        times.append((time.perf_counter() - t0) * 1000)
        assert answer.status == 200, (path, answer.status)
    return statistics.median(times), max(times)


async def followed(client: TestClient, job: str) -> tuple[int, str]:
    """A background job's page once it is over, polled every second as the page's htmx does."""
    while True:
        polled = await client.get(job, headers={"HX-Request": "true"})
        if polled.headers.get("HX-Refresh") == "true":
            page = await client.get(job)
            return page.status, await page.text()
        await asyncio.sleep(1)


async def main(employees: int, requests: int) -> None:
    async with fresh_app(web_max_upload_mb=50) as (app, dsn):
        async with app.sessions() as session:
            agency = await session.scalar(select(Agency))
            assert agency is not None
            agency_id = agency.id
        t0 = time.perf_counter()
        await load(dsn, employees, agency_id)
        load_s = time.perf_counter() - t0
        token = new_token()
        async with app.sessions() as session, session.begin():
            session.add(EmployeeRole(employee_id=1, role="hr"))
            web_session = WebSession(
                token_hash=token_hash(token),
                employee_id=1,
                agency_id=agency_id,
                csrf=new_token(),
                expires_at=datetime.now(UTC) + timedelta(hours=1),
            )
            session.add(web_session)
            await session.flush()
            csrf = web_session.csrf
        web_app = application(app)
        mount(web_app, app)
        client = TestClient(TestServer(web_app))
        await client.start_server()
        client.session.cookie_jar.update_cookies({COOKIE: token})
        try:
            figures = {
                "healthz (baseline)": await timed(client, "/healthz", requests),
                "list page 1": await timed(client, "/hr/roster", requests),
                "list page 1000": await timed(client, "/hr/roster", requests, page="1000"),
                "search name": await timed(client, "/hr/roster", requests, q="indah lubis"),
                "search NIP": await timed(client, "/hr/roster", requests, q=nip(4320)),
                "one unit": await timed(client, "/hr/roster", requests, unit="777"),
                "card": await timed(client, "/hr/roster/4321", requests),
            }
            t0 = time.perf_counter()
            exported = await (await client.get("/hr/roster/export.csv")).read()
            export_s = time.perf_counter() - t0
            form = FormData()
            form.add_field("csrf", csrf)
            form.add_field("file", exported, filename="roster.csv")
            t0 = time.perf_counter()
            posted = await client.post("/hr/roster/import", data=form, allow_redirects=False)
            answer_s = time.perf_counter() - t0
            assert posted.status == 303, posted.status
            status, page = await followed(client, posted.headers["Location"])
            preview_s = time.perf_counter() - t0
            unchanged = re.search(r'figure">(\d+)</div>tetap', page)
            print(f"  (preview says {unchanged and unchanged.group(1)} unchanged)", flush=True)
            found = re.search(r'name="token" value="([^"]+)"', page)
            assert status == 200 and found, status
            t0 = time.perf_counter()
            done = await client.post(
                "/hr/roster/import/confirm",
                data={"csrf": csrf, "token": found.group(1)},
                allow_redirects=False,
            )
            confirm_answer_s = time.perf_counter() - t0
            assert done.status == 303, done.status
            status, _ = await followed(client, done.headers["Location"])
            confirm_s = time.perf_counter() - t0
            assert status == 200
        finally:
            await client.close()
        base = figures["healthz (baseline)"][0]
        print(f"roster page bench: {employees} employees (load {load_s:.1f}s), n={requests}")
        for label, (p50, worst) in figures.items():
            print(f"  {label:20s} p50 {p50:7.2f} ms  max {worst:7.2f} ms  ({p50 / base:5.1f}x)")
        print(
            f"  export.csv {len(exported) / 2**20:.1f} MB in {export_s:.2f}s | upload preview "
            f"{preview_s:.2f}s (answered in {answer_s:.2f}s) | confirm (all unchanged) "
            f"{confirm_s:.2f}s (answered in {confirm_answer_s:.2f}s)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.employees, args.requests))
