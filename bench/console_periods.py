"""The console's periods and audit pages at scale: 100,000 ASN, 1,000,000 ratings and 1,000,000
audit rows in PostgreSQL, served by the real console behind aiohttp's test client.

Each page is timed (p50 over a few requests) beside bare baselines measured in the same run:
the console's plainest page (the sign-in form: layout and template, no database) and the
page's core query run bare on the same connection pool.

    python -m bench.console_periods [--employees 100000] [--ratings-per 10] [--audit 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from bench.database import fresh_app, open_quarter
from bench.standings import load
from bot.app import App
from bot.hr_web import context
from bot.hr_web.app import mount
from bot.services import participation, periods, standings
from bot.web import application
from storage.models import RatingPeriod

ACTIONS = ("period.open", "roster.edit", "web.login", "rating.flags.view", "broadcast.send")


async def load_audit(dsn: str, agency_id: int, rows: int, employees: int) -> None:
    rng = random.Random(3)
    start = datetime.now(UTC) - timedelta(days=365)
    step = 365 * 86400 / rows
    records = [
        (
            agency_id,
            f"employee:{rng.randint(1, employees)}" if i % 10 else "cli:root",
            ACTIONS[i % len(ACTIONS)],
            f"period:{i % 7}",
            '{"via":"web"}',
            start + timedelta(seconds=i * step),
        )
        for i in range(rows)
    ]
    conn = await asyncpg.connect(dsn)
    await conn.copy_records_to_table(
        "audit_log",
        records=records,
        columns=["agency_id", "actor", "action", "target", "detail", "at"],
    )
    await conn.execute("ANALYZE audit_log")
    await conn.close()


async def timed(call: Callable[[], Awaitable[object]], n: int) -> float:
    """p50 milliseconds of `n` calls (after one warm-up call)."""
    await call()
    spent = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        spent.append((time.perf_counter() - t0) * 1000)
    return statistics.median(spent)


async def main(employees: int, per: int, audit_rows: int, n: int, keep: bool = False) -> None:
    async with fresh_app(keep=keep, web_console=True) as (app, dsn):
        await _measure(app, dsn, employees, per, audit_rows, n)


async def _measure(app: App, dsn: str, employees: int, per: int, audit_rows: int, n: int) -> None:
    client: TestClient | None = None
    try:
        agency_id, period_id, scheme = await open_quarter(app)
        ratings = await load(dsn, employees, per, agency_id, period_id)
        await load_audit(dsn, agency_id, audit_rows, employees)
        async with app.sessions() as session, session.begin():
            closing = await session.get(RatingPeriod, period_id)
            assert closing is not None
            await periods.close_period(session, closing, scheme, "bench")
        # An HR officer with a console session (the sign-in itself is not what is measured).
        token, csrf = context.new_token(), context.new_token()
        conn = await asyncpg.connect(dsn)
        await conn.execute(
            "INSERT INTO employee_role (employee_id, role, granted_at) VALUES (1, 'hr', now())"
        )
        await conn.execute(
            "INSERT INTO web_session (token_hash, employee_id, agency_id, csrf, locale, address,"
            " created_at, expires_at) VALUES ($1, 1, $2, $3, 'id', '', now(),"
            " now() + interval '1 day')",
            context.token_hash(token),
            agency_id,
            csrf,
        )
        await conn.close()
        web_app = application(app)
        mount(web_app, app)
        client = browser = TestClient(TestServer(web_app), cookies={context.COOKIE: token})
        await client.start_server()

        async def get(path: str) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                answer = await browser.get(path)
                body = await answer.read()
                assert answer.status == 200, (path, answer.status, body[:300])
                return body

            return call

        def bare(sql: str) -> Callable[[], Awaitable[object]]:
            async def call() -> object:
                async with app.sessions() as session:
                    return (await session.execute(text(sql))).all()

            return call

        async def service(call: Callable[..., Awaitable[object]], *args: object) -> float:
            async def run() -> object:
                async with app.sessions() as session:
                    closed = await session.get(RatingPeriod, period_id)
                    return await call(session, closed, *args)

            return await timed(run, n)

        parts = {
            "participation": await service(participation.participation),
            "ranking 50": await service(lambda s, p: standings.ranking(s, p, scheme, limit=50)),
            "period counts": await service(lambda s, p: participation.period_counts(s, [p])),
        }

        # The bare page: the console's sign-in form (layout, template, a token; no database).
        async def login_page() -> object:
            answer = await browser.get("/hr/login")
            return await answer.read()

        base_page = await timed(login_page, n)
        figures: list[tuple[str, float, float]] = []
        deep = employees // 2 // 50
        pages = [
            (
                "periods list",
                "/hr/periods",
                f"SELECT count(*) FROM rating WHERE period_id = {period_id}",
            ),
            (
                "standings p.1",
                f"/hr/periods/{period_id}",
                f"SELECT * FROM standing WHERE period_id = {period_id} "
                "ORDER BY rank_agency LIMIT 50",
            ),
            (
                f"standings p.{deep}",
                f"/hr/periods/{period_id}?page={deep}",
                f"SELECT * FROM standing WHERE period_id = {period_id} "
                f"ORDER BY rank_agency LIMIT 50 OFFSET {deep * 50}",
            ),
            (
                "audit newest",
                "/hr/audit",
                f"SELECT * FROM audit_log WHERE agency_id = {agency_id} ORDER BY id DESC LIMIT 51",
            ),
            (
                "audit deep (keyset)",
                f"/hr/audit?before={audit_rows // 2}",
                f"SELECT * FROM audit_log WHERE agency_id = {agency_id} AND id < {audit_rows // 2} "
                "ORDER BY id DESC LIMIT 51",
            ),
            (
                "audit actor=cli:root",
                "/hr/audit?actor=cli:root",
                f"SELECT * FROM audit_log WHERE agency_id = {agency_id} AND actor = 'cli:root' "
                "ORDER BY id DESC LIMIT 51",
            ),
            (
                "audit one day",
                "/hr/audit?since=2026-06-01&until=2026-06-01",
                f"SELECT * FROM audit_log WHERE agency_id = {agency_id} "
                "AND at >= '2026-05-31 17:00+00' AND at < '2026-06-01 17:00+00' "
                "ORDER BY id DESC LIMIT 51",
            ),
        ]
        for label, path, sql in pages:
            page_ms = await timed(await get(path), n)
            sql_ms = await timed(bare(sql), n)
            figures.append((label, page_ms, sql_ms))
        t0 = time.perf_counter()
        export = await (await get("/hr/audit/export.csv?action=period.open"))()
        export_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        await (await get(f"/hr/periods/{period_id}/flags"))()
        flags_s = time.perf_counter() - t0
        print(
            f"console periods/audit bench: {employees} ASN, {ratings} ratings, "
            f"{audit_rows} audit rows, PostgreSQL, p50 of {n}"
        )
        print(f"  baseline: bare console page (sign-in form) {base_page:.1f} ms")
        print("  services: " + ", ".join(f"{k} {v:.1f} ms" for k, v in parts.items()))
        for label, page_ms, sql_ms in figures:
            print(
                f"  {label:<22} page {page_ms:7.1f} ms | bare query {sql_ms:6.1f} ms | "
                f"page/bare page {page_ms / base_page:6.1f}x"
            )
        lines = export.count(b"\n") - 1  # type: ignore[attr-defined]
        print(f"  audit export (action filter, streamed): {lines} rows in {export_s:.2f} s")
        print(f"  integrity flags page (once): {flags_s:.2f} s")
    finally:
        if client is not None:
            await client.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--ratings-per", type=int, default=10)
    parser.add_argument("--audit", type=int, default=1_000_000)
    parser.add_argument("--n", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the database to look into")
    args = parser.parse_args()
    asyncio.run(main(args.employees, args.ratings_per, args.audit, args.n, args.keep))
