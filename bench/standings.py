"""Standings at scale: an agency of 100,000 ASN with 1,000,000 ratings in PostgreSQL.

Seeds a fresh database in SQL (generate_series; seconds, not minutes), then times closing the
quarter (the standings computed in SQL) `--runs` times (the quarter is re-opened between runs),
publishing (awards), the integrity flags, and p50/p99 of the lookups: one user's "my standing"
(the row and the rank totals; and with what may be shown of it), HR's published table (the top
of the ranking) and the whole "Posisi saya" screen through the dispatcher (text and PNG chart).
A bare baseline measured in the same run: one GROUP BY over the ratings that writes nothing,
and a primary-key SELECT for the lookups.

    python -m bench.standings [--employees 100000] [--ratings-per 10] [--runs 3] [--lookups 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg
from sqlalchemy import text

from bench.database import fresh_app, open_quarter
from bot.messages import Channel, Inbound
from bot.services import periods, rating, standings
from bot.services.privacy_notice import NOTICES
from storage.models import Employee, RatingPeriod

UNIT_SIZE = 50  # a head, 4 section heads, 45 staff (about 11 per section head)

# A unit of 50: position 0 heads it, 1..4 are section heads under the head, 5.. staff under a
# section head. Each ASN is rated by `per` random colleagues of their own unit.
SEED_SQL = [
    "SELECT setseed(0.7)",
    """INSERT INTO unit (id, agency_id, name)
       SELECT u, $1, 'Unit ' || u FROM generate_series(1, $2::int) AS u""",
    f"""INSERT INTO employee (id, agency_id, nip, name, position, unit_id, supervisor_id, kind,
           status, created_at, updated_at)
       SELECT i, $1, lpad(i::text, 18, '0'), 'ASN ' || i, '', (i - 1) / {UNIT_SIZE} + 1,
           CASE WHEN pos = 0 THEN NULL WHEN pos <= 4 THEN head ELSE head + 1 + pos % 4 END,
           'PNS', 'active', now(), now()
       FROM (SELECT i, (i - 1) % {UNIT_SIZE} AS pos, (i - 1) / {UNIT_SIZE} * {UNIT_SIZE} + 1 AS head
             FROM generate_series(1, $2::int) AS i) AS s""",
    # A ratee's raters: `per` distinct offsets within the unit, found by arithmetic (a join on
    # the unit would scan the roster once per ratee).
    f"""INSERT INTO rating (period_id, rater_id, ratee_id, relation, scores, score, created_at,
           updated_at)
       SELECT $1, rater, ratee, relation,
           json_build_object('kerajinan', a, 'kreativitas', b, 'inovasi', c, 'pelayanan', d),
           (a + b + c + d) / 4.0, at, at
       FROM (
           SELECT r.id AS rater, e.id AS ratee,
               CASE WHEN e.supervisor_id = r.id THEN 'superior'
                    WHEN r.supervisor_id = e.id THEN 'subordinate' ELSE 'peer' END AS relation,
               2 + floor(random() * 4)::int AS a, 2 + floor(random() * 4)::int AS b,
               2 + floor(random() * 4)::int AS c, 2 + floor(random() * 4)::int AS d,
               now() - random() * interval '30 days' AS at
           FROM (SELECT id, supervisor_id, (id - 1) / {UNIT_SIZE} * {UNIT_SIZE} + 1 AS head,
                     least({UNIT_SIZE}, $3::int - (id - 1) / {UNIT_SIZE} * {UNIT_SIZE}) AS size
                 FROM employee) AS e
           CROSS JOIN LATERAL (
               SELECT k FROM generate_series(1, e.size - 1) AS k ORDER BY random() LIMIT $2
           ) AS o
           JOIN employee AS r ON r.id = e.head + (e.id - e.head + o.k) % e.size
           OFFSET 0
       ) AS x""",
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.2f} ms p99 {_pct(values, 0.99):.2f} ms"


async def _timed(n: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        await step(i)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def load(dsn: str, employees: int, per: int, agency_id: int, period_id: int) -> int:
    conn = await asyncpg.connect(dsn)
    units = (employees + UNIT_SIZE - 1) // UNIT_SIZE
    await conn.execute(SEED_SQL[0])
    await conn.execute(SEED_SQL[1], agency_id, units)
    await conn.execute(SEED_SQL[2], agency_id, employees)
    await conn.execute(SEED_SQL[3], period_id, per, employees)
    await conn.execute("SELECT setval('employee_id_seq', $1)", employees)
    await conn.execute("SELECT setval('unit_id_seq', $1)", units)
    await conn.execute("VACUUM ANALYZE")
    count = int(await conn.fetchval("SELECT count(*) FROM rating"))
    await conn.close()
    return count


async def main(employees: int, per: int, runs: int, lookups: int, screens: int) -> None:
    async with fresh_app() as (app, dsn):
        agency_id, period_id, scheme = await open_quarter(app)
        t0 = time.perf_counter()
        count = await load(dsn, employees, per, agency_id, period_id)
        load_s = time.perf_counter() - t0

        conn = await asyncpg.connect(dsn)
        bare_s, close_s = [], []
        for _ in range(runs):
            # Baseline: the same ratings grouped by ratee and relation, nothing written.
            t0 = time.perf_counter()
            await conn.fetchval(
                "SELECT count(*) FROM (SELECT ratee_id, relation, avg(score), count(*),"
                " max(updated_at) FROM rating WHERE period_id = $1 GROUP BY 1, 2) AS g",
                period_id,
            )
            bare_s.append(time.perf_counter() - t0)
            async with app.sessions() as session, session.begin():
                period = await session.get(RatingPeriod, period_id)
                assert period is not None
                t0 = time.perf_counter()
                await periods.close_period(session, period, scheme, "bench")
            close_s.append(time.perf_counter() - t0)
            if len(close_s) < runs:  # re-open for the next run, as it was before closing
                await conn.execute("DELETE FROM standing WHERE period_id = $1", period_id)
                await conn.execute(
                    "UPDATE rating_period SET state = 'open', closed_at = NULL,"
                    " closes_at = now() + interval '1 day' WHERE id = $1",
                    period_id,
                )
                await conn.execute("VACUUM ANALYZE standing")
        await conn.execute("ANALYZE standing")
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
        people = [rng.randint(1, employees) for _ in range(lookups)]
        size = int(scheme.rule("shortlist_size"))
        async with app.sessions() as session:
            period = await session.get(RatingPeriod, period_id)
            assert period is not None

            async def bare(i: int) -> None:
                await session.execute(text("SELECT id FROM employee WHERE id = :i"), {"i": i + 1})

            async def mine(i: int) -> None:
                employee = await session.get(Employee, people[i])
                assert employee is not None and period is not None
                await standings.my_standing(session, employee, period)

            async def shown(i: int) -> None:
                employee = await session.get(Employee, people[i])
                assert employee is not None and period is not None
                await standings.my_standing(session, employee, period)
                await standings.disclose_person(session, scheme, employee.id, [period])

            async def table(_i: int) -> None:
                assert period is not None
                rows = await standings.ranking(session, period, scheme, limit=size)
                assert len(rows) == size

            bare_ms = await _timed(lookups, bare)
            mine_ms = await _timed(lookups, mine)
            shown_ms = await _timed(lookups, shown)
            table_ms = await _timed(max(1, lookups // 10), table)

        # The whole screen: accounts linked to random ASN press "Posisi saya" via the dispatcher.
        sample = rng.sample(range(1, employees + 1), screens)
        await conn.executemany(
            "INSERT INTO account (agency_id, channel, user_ref, chat_ref, employee_id, reachable,"
            " created_at, notice_version) VALUES ($1, 'telegram', $2, $2, $3, true, now(), $4)",
            [(agency_id, f"b{e}", e, NOTICES.version) for e in sample],
        )
        await conn.close()

        async def screen(n: int) -> None:
            e = sample[n]
            inbound = Inbound(
                Channel.TELEGRAM, f"b{e}", f"b{e}", event_id=f"bench-{n}", action="standing:mine"
            )
            replies = await app.dispatcher.handle(inbound)
            # No chart when no quarter's score may be shown (small groups of raters).
            assert replies

        screen_ms = await _timed(screens, screen)
        close_m = statistics.median(close_s)
        bare_m = statistics.median(bare_s)
        print(f"standings bench: {employees} ASN, {count} ratings, seeded in {load_s:.1f} s")
        print(
            f"  close+compute  median {close_m:.2f} s of {runs} "
            f"({', '.join(f'{s:.2f}' for s in close_s)}) | bare GROUP BY {bare_m:.2f} s | "
            f"ratio {close_m / bare_m:.1f}"
        )
        print(
            f"  publish+awards {publish_s:.2f} s | integrity flags {flags_s:.2f} s ({len(flags)})"
        )
        print(f"  bare pk select          {_ms(bare_ms)} (n={lookups})")
        print(f"  my standing (row+ranks) {_ms(mine_ms)} (n={lookups})")
        print(f"  my standing as shown    {_ms(shown_ms)} (n={lookups})")
        print(f"  published table top {size:<3} {_ms(table_ms)} (n={len(table_ms)})")
        print(f"  whole screen with chart {_ms(screen_ms)} (n={screens})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=100_000)
    parser.add_argument("--ratings-per", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--screens", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.employees, args.ratings_per, args.runs, args.lookups, args.screens))
