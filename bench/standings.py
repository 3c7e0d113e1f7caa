"""Standings at scale: an agency of 100,000 ASN with 1,000,000 ratings in PostgreSQL.

Loads a fresh database with COPY, then times closing (SQL standings) and publishing (standings
again, awards) the quarter, the integrity flags, and p50/p99 of one user's "my standing": the
database lookup alone, and the whole screen through the dispatcher (text and PNG chart).

    python -m bench.standings [--employees 100000] [--ratings-per 10] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import select

from bot.app import create_app
from bot.config import Settings
from bot.messages import Channel, Inbound
from bot.services import periods, rating, standings
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import load_scheme
from storage.models import Agency, Employee, RatingPeriod

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
UNIT_SIZE = 50  # a head, 4 section heads, 45 staff (about 11 per section head)
CRITERIA = ("kerajinan", "kreativitas", "inovasi", "pelayanan")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def load(dsn: str, employees: int, per: int, agency_id: int, period_id: int) -> int:
    """Roster and ratings by COPY; each ASN is rated by `per` people of their own unit."""
    rng = random.Random(7)
    conn = await asyncpg.connect(dsn)
    now = datetime.now(UTC)
    units = (employees + UNIT_SIZE - 1) // UNIT_SIZE
    await conn.copy_records_to_table(
        "unit",
        records=[(u + 1, agency_id, f"Unit {u + 1}") for u in range(units)],
        columns=["id", "agency_id", "name"],
    )
    rows, supervisor = [], {}
    for i in range(employees):
        eid, unit, pos = i + 1, i // UNIT_SIZE, i % UNIT_SIZE
        head = unit * UNIT_SIZE + 1
        sup = None if pos == 0 else head if pos <= 4 else head + 1 + (pos % 4)
        supervisor[eid] = sup
        rows.append(
            (
                eid,
                agency_id,
                f"{eid:018d}",
                f"ASN {eid}",
                "",
                unit + 1,
                sup,
                "PNS",
                None,
                "active",
                now,
                now,
            )
        )
    await conn.copy_records_to_table(
        "employee",
        records=rows,
        columns=[
            "id",
            "agency_id",
            "nip",
            "name",
            "position",
            "unit_id",
            "supervisor_id",
            "kind",
            "phone",
            "status",
            "created_at",
            "updated_at",
        ],
    )
    await conn.execute("SELECT setval('employee_id_seq', $1)", employees)
    await conn.execute("SELECT setval('unit_id_seq', $1)", units)
    ratings, rid = [], 0
    start = now - timedelta(days=30)
    for ratee in range(1, employees + 1):
        unit = (ratee - 1) // UNIT_SIZE
        members = range(unit * UNIT_SIZE + 1, min(employees, (unit + 1) * UNIT_SIZE) + 1)
        for rater in rng.sample([m for m in members if m != ratee], min(per, len(members) - 1)):
            rid += 1
            relation = (
                "superior"
                if supervisor[ratee] == rater
                else "subordinate"
                if supervisor[rater] == ratee
                else "peer"
            )
            scores = {c: rng.randint(2, 5) for c in CRITERIA}
            at = start + timedelta(seconds=rng.randrange(30 * 86400))
            ratings.append(
                (
                    rid,
                    period_id,
                    rater,
                    ratee,
                    relation,
                    json.dumps(scores),
                    sum(scores.values()) / 4,
                    None,
                    at,
                    at,
                )
            )
    await conn.copy_records_to_table(
        "rating",
        records=ratings,
        columns=[
            "id",
            "period_id",
            "rater_id",
            "ratee_id",
            "relation",
            "scores",
            "score",
            "comment",
            "created_at",
            "updated_at",
        ],
    )
    await conn.execute("SELECT setval('rating_id_seq', $1)", rid)
    await conn.execute("ANALYZE")
    await conn.close()
    return rid


async def main(employees: int, per: int, lookups: int, screens: int) -> None:
    name = f"abdi_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    settings = Settings(
        _env_file=None,
        database_url=dsn.replace("postgresql://", "postgresql+asyncpg://"),
        auto_migrate=True,
        redis_url=None,
    )
    app = await create_app(settings, migrate=True)
    try:
        async with app.sessions() as session, session.begin():
            agency = await session.scalar(select(Agency))
            assert agency is not None
            scheme = await load_scheme(session, agency.id)
            period = await periods.open_quarter(
                session,
                agency,
                QuarterRef(2025, 1),
                scheme,
                "bench",
                closes_at=datetime.now(UTC) + timedelta(days=1),
            )
            agency_id, period_id = agency.id, period.id
        t0 = time.perf_counter()
        count = await load(dsn, employees, per, agency_id, period_id)
        load_s = time.perf_counter() - t0

        async with app.sessions() as session, session.begin():
            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            t0 = time.perf_counter()
            await periods.close_period(session, period, scheme, "bench")
        close_s = time.perf_counter() - t0
        async with app.sessions() as session, session.begin():
            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            t0 = time.perf_counter()
            await periods.publish_period(session, period, scheme, "bench")
        publish_s = time.perf_counter() - t0
        async with app.sessions() as session:
            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            t0 = time.perf_counter()
            flags = await rating.integrity_flags(session, period, scheme)
            flags_s = time.perf_counter() - t0

        rng = random.Random(11)
        lookup_ms = []
        async with app.sessions() as session:
            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            for _ in range(lookups):
                employee = await session.get(Employee, rng.randint(1, employees))
                assert employee is not None
                t0 = time.perf_counter()
                await standings.my_standing(session, employee, period)
                lookup_ms.append((time.perf_counter() - t0) * 1000)

        # The whole screen: accounts linked to random ASN press "Posisi saya" via the dispatcher.
        conn = await asyncpg.connect(dsn)
        sample = rng.sample(range(1, employees + 1), screens)
        await conn.executemany(
            "INSERT INTO account (agency_id, channel, user_ref, chat_ref, employee_id, reachable,"
            " created_at) VALUES ($1, 'telegram', $2, $2, $3, true, now())",
            [(agency_id, f"b{e}", e) for e in sample],
        )
        await conn.close()
        screen_ms = []
        for n, e in enumerate(sample):
            inbound = Inbound(
                Channel.TELEGRAM, f"b{e}", f"b{e}", event_id=f"bench-{n}", action="standing:mine"
            )
            t0 = time.perf_counter()
            replies = await app.dispatcher.handle(inbound)
            screen_ms.append((time.perf_counter() - t0) * 1000)
            assert replies and replies[0].attachment is not None
        print(
            f"standings bench: {employees} ASN, {count} ratings (load {load_s:.1f}s) | "
            f"close+compute {close_s:.2f}s, publish+awards {publish_s:.2f}s, "
            f"total {close_s + publish_s:.2f}s | integrity flags {flags_s:.2f}s ({len(flags)}) | "
            f"my standing lookup p50 {statistics.median(lookup_ms):.2f} ms "
            f"p99 {_pct(lookup_ms, 0.99):.2f} ms (n={lookups}) | whole screen with chart "
            f"p50 {statistics.median(screen_ms):.1f} ms p99 {_pct(screen_ms, 0.99):.1f} ms "
            f"(n={screens})"
        )
    finally:
        await app.close()
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--ratings-per", type=int, default=10)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--screens", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.employees, args.ratings_per, args.lookups, args.screens))
