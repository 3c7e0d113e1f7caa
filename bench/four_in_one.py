"""4-in-1 at scale: a province's two years of cases, then the officer queue, escalation and report.

Creates a fresh database (SQLite file and, when it runs, PostgreSQL), inserts the cases in bulk,
and times the queries the desk runs: one queue page, one escalation pass (a few hundred cases at
risk, each warning recorded), and the HR report over every month.

    python -m bench.four_in_one [--cases 20000] [--at-risk 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, select

from bot.config import Settings
from bot.services import four_in_one as cases
from bot.services.agencies import ensure_default_agency
from storage import db
from storage.models import Account, CaseDocument, Employee, EmployeeRole, FourInOneCase, Unit

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def load(sessions, agency_id: int, total: int, at_risk: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(4)
    case_rows, doc_rows = [], []
    for n in range(1, total + 1):
        live = n > total - at_risk
        opened = (
            now - timedelta(hours=rng.randint(1, 30)) if live else now - timedelta(days=n % 730)
        )
        died = opened - timedelta(hours=rng.randint(0, 20))
        due = died + timedelta(days=2, hours=4)
        if live:
            due = now + timedelta(hours=rng.randint(1, 23))
        case_rows.append(
            {
                "id": n,
                "agency_id": agency_id,
                "tracking_hash": uuid.uuid4().hex * 2,
                "status": "open" if live else "closed",
                "identity_key": f"bench:{n}",
                "deceased_name": f"Almarhum {n}",
                "died_at": died,
                "deadline_at": due,
                "opened_month": opened.strftime("%Y-%m"),
                "opened_by": "bench",
                "opened_via": "family",
                "handed_over_at": None if live else opened + timedelta(hours=rng.randint(20, 80)),
                "created_at": opened,
            }
        )
        for position, kind in enumerate(cases.DOCUMENTS):
            ready = None if live else opened + timedelta(hours=rng.randint(2, 70))
            doc_rows.append(
                {
                    "case_id": n,
                    "kind": kind,
                    "position": position,
                    "owner_role": cases.OWNERS[kind],
                    "status": "pending" if live else "handed_over",
                    "ready_at": ready,
                    "updated_at": opened,
                    "updated_by": "bench",
                }
            )
    async with sessions() as session, session.begin():
        unit = Unit(agency_id=agency_id, name="BKPSDM")
        session.add(unit)
        await session.flush()
        for i, role in enumerate(("officer", "hr", "taspen", "dukcapil")):
            employee = Employee(
                agency_id=agency_id, nip=f"19900101201501100{i}", name=role, unit_id=unit.id,
                kind="PNS",
            )  # fmt: skip
            session.add(employee)
            await session.flush()
            session.add(EmployeeRole(employee_id=employee.id, role=role))
            session.add(
                Account(
                    agency_id=agency_id, channel="telegram", user_ref=str(i), chat_ref=str(i),
                    employee_id=employee.id,
                )
            )  # fmt: skip
        for start in range(0, len(case_rows), 5000):
            await session.execute(insert(FourInOneCase), case_rows[start : start + 5000])
        for start in range(0, len(doc_rows), 5000):
            await session.execute(insert(CaseDocument), doc_rows[start : start + 5000])


async def run(url: str, total: int, at_risk: int) -> str:
    engine = db.create_engine(url)
    await db.upgrade(engine)
    sessions = db.session_factory(engine)
    settings = Settings(_env_file=None, database_url=url)
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        agency = await ensure_default_agency(session, settings)
    started = time.perf_counter()
    await load(sessions, agency.id, total, at_risk, now)
    loaded = time.perf_counter() - started
    timings = {}
    async with sessions() as session:
        started = time.perf_counter()
        page = await cases.queue(session, agency.id, {"officer"})
        timings["queue page"] = time.perf_counter() - started
        assert page
    async with sessions() as session, session.begin():
        started = time.perf_counter()
        done = await cases.escalate_due(session, agency, now)
        timings["escalation pass"] = time.perf_counter() - started
    async with sessions() as session, session.begin():
        started = time.perf_counter()
        again = await cases.escalate_due(session, agency, now)
        timings["escalation again (nothing new)"] = time.perf_counter() - started
        assert again.notifications == 0
    async with sessions() as session:
        started = time.perf_counter()
        months = await cases.report(session, agency.id, now)
        timings["report, every month"] = time.perf_counter() - started
        count = await session.scalar(select(FourInOneCase.id).order_by(FourInOneCase.id.desc()))
    await engine.dispose()
    escalated = len(done.risk24) + len(done.risk6)
    parts = [f"load {loaded:.1f} s ({count} cases)"]
    parts += [f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items()]
    parts.append(
        f"{escalated} cases escalated, {done.notifications} warnings, {len(months)} months"
    )
    return "; ".join(parts)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--at-risk", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print("sqlite:", await run(url, args.cases, args.at_risk))
    name = f"abdi_bench_{uuid.uuid4().hex[:8]}"
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped ({exc})")
        return
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        print("postgresql:", await run(url, args.cases, args.at_risk))
    finally:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
