"""Standings in SQL against an independent Python computation; winners and ties; anonymity."""

from __future__ import annotations

import asyncio
import io
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import App
from bot.services import periods
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import RELATIONS, Scheme, scheme_from
from bot.services.standings import compute_standings, disclose_person
from storage.models import Agency, Award, Employee, Rating, RatingPeriod, Standing
from tests.helpers.rating_helpers import JOKO_K, JOKO_S, RINA, SRI, WULAN, employee_ids, linked

T0 = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)


# --- The reference: plain Python over the same rows, written from DOMAIN.md ------------------


def reference(rows: list[Rating], units: dict[int, int], scheme: Scheme) -> dict[int, dict]:
    by_ratee: dict[int, list[Rating]] = defaultdict(list)
    for r in rows:
        by_ratee[r.ratee_id].append(r)
    out: dict[int, dict] = {}
    weights = scheme.weights
    for ratee, ratings in by_ratee.items():
        groups: dict[str, list[float]] = defaultdict(list)
        for r in ratings:
            groups[r.relation].append(sum(r.scores.values()) / len(r.scores))
        means = {g: sum(v) / len(v) for g, v in groups.items()}
        total_w = sum(weights[g] for g in means)
        score = sum(weights[g] * m for g, m in means.items()) / total_w if total_w else None
        n = len(ratings)
        out[ratee] = {
            "score": round(score, 6) if score is not None else None,
            "n": n,
            "eligible": n >= scheme.rule("min_raters") and score is not None,
            "last": max(r.updated_at for r in ratings),
            "unit": units[ratee],
            "means": means,
            "counts": {g: len(v) for g, v in groups.items()},
        }
    eligible = sorted(
        (k for k, v in out.items() if v["eligible"]),
        key=lambda k: (-out[k]["score"], -out[k]["n"], out[k]["last"], k),
    )
    unit_seen: dict[int, int] = defaultdict(int)
    for rank, k in enumerate(eligible, start=1):
        out[k]["rank"] = rank
        unit_seen[out[k]["unit"]] += 1
        out[k]["rank_unit"] = unit_seen[out[k]["unit"]]
    return out


async def _setup_quarter(app: App, ref: QuarterRef) -> int:
    async with app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        period = await periods.open_quarter(
            session, agency, ref, scheme_from(), "test", closes_at=T0 + timedelta(days=3650)
        )
        return period.id


async def _random_ratings(app: App, period_id: int, seed: int, count: int = 300) -> None:
    """Random ratings straight into the table (the SQL, not the circle, is under test here)."""
    rng = random.Random(seed)
    async with app.sessions() as session, session.begin():
        ids = list(await session.scalars(select(Employee.id).order_by(Employee.id)))
        pairs: set[tuple[int, int]] = set()
        # A few favourites collect many ratings; the rest few, so some stay under the minimum.
        weights = [rng.choice([1, 1, 1, 5]) for _ in ids]
        while len(pairs) < count:
            ratee = rng.choices(ids, weights)[0]
            rater = rng.choice(ids)
            if rater != ratee:
                pairs.add((rater, ratee))
        for rater, ratee in sorted(pairs):
            scores = {c: rng.choice([3, 4, 5]) for c in scheme_from().criteria}
            at = T0 + timedelta(minutes=rng.randrange(40))  # coarse: equal times happen
            session.add(
                Rating(
                    period_id=period_id,
                    rater_id=rater,
                    ratee_id=ratee,
                    relation=rng.choice(RELATIONS),
                    scores=scores,
                    score=sum(scores.values()) / len(scores),
                    created_at=at,
                    updated_at=at,
                )
            )


async def _compare(app: App, period_id: int, scheme: Scheme) -> dict[int, dict]:
    async with app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await compute_standings(session, period, scheme)
    async with app.sessions() as session:
        rows = list(await session.scalars(select(Rating).where(Rating.period_id == period_id)))
        units = dict((await session.execute(select(Employee.id, Employee.unit_id))).all())
        got = {
            s.employee_id: s
            for s in await session.scalars(select(Standing).where(Standing.period_id == period_id))
        }
    want = reference(rows, units, scheme)
    assert set(got) == set(want)
    for ratee, w in want.items():
        s = got[ratee]
        assert s.rater_count == w["n"] and bool(s.eligible) == w["eligible"], ratee
        assert s.score == pytest.approx(w["score"], abs=1e-9), ratee
        assert s.rank_agency == w.get("rank") and s.rank_unit == w.get("rank_unit"), ratee
        for g in RELATIONS:
            assert getattr(s, f"{g}_count") == w["counts"].get(g, 0)
            if g in w["means"]:
                assert getattr(s, f"{g}_mean") == pytest.approx(w["means"][g])
    return want


async def test_ranking_lists_the_ranked_by_rank_then_the_unranked_by_name(demo_app) -> None:
    """HR's table and export: ranked people in rank order, then those not ranked by name; the
    top N is the start of that list (the order the rank index reads)."""
    from bot.services import standings

    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    await _random_ratings(demo_app, period_id, 4)
    want = await _compare(demo_app, period_id, scheme_from())
    async with demo_app.sessions() as session:
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        rows = await standings.ranking(session, period, scheme_from())
        top = await standings.ranking(session, period, scheme_from(), limit=3)
    ranked = [r for r in rows if r.eligible]
    unranked = [r for r in rows if not r.eligible]
    assert ranked and unranked and len(rows) == len(want)
    assert rows == ranked + unranked
    assert [r.rank_agency for r in ranked] == list(range(1, len(ranked) + 1))
    assert all(r.rank_agency is None for r in unranked)
    assert [r.name for r in unranked] == sorted(r.name for r in unranked)
    assert top == rows[:3]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sql_standings_match_python(demo_app, seed: int) -> None:
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    await _random_ratings(demo_app, period_id, seed)
    want = await _compare(demo_app, period_id, scheme_from())
    assert any(not v["eligible"] for v in want.values()) and any(
        v["eligible"] for v in want.values()
    )
    # The same data under another agency's weights and minimum.
    other = scheme_from(
        {"weights": {"superior": 0.6, "peer": 0.0, "subordinate": 0.4}, "rules": {"min_raters": 5}}
    )
    await _compare(demo_app, period_id, other)


async def _rate(
    session, period_id: int, rater: int, ratee: int, value: int, at: datetime, rel: str = "peer"
) -> None:
    scores = dict.fromkeys(scheme_from().criteria, value)
    session.add(
        Rating(
            period_id=period_id,
            rater_id=rater,
            ratee_id=ratee,
            relation=rel,
            scores=scores,
            score=float(value),
            created_at=at,
            updated_at=at,
        )
    )


async def test_ties_more_raters_then_earlier_rated(demo_app) -> None:
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    ids = list(range(1, 51))
    a, b, c, d = 10, 20, 30, 40
    async with demo_app.sessions() as session, session.begin():
        for i, rater in enumerate(ids[:3]):
            await _rate(session, period_id, rater, a, 4, T0 + timedelta(hours=5 + i))
        for i, rater in enumerate(ids[:4]):
            await _rate(session, period_id, rater, b, 4, T0 + timedelta(hours=9 + i))
        for i, rater in enumerate(ids[:3]):
            await _rate(session, period_id, rater, c, 4, T0 + timedelta(hours=1 + i))
        for rater in ids[:2]:
            await _rate(session, period_id, rater, d, 5, T0)
    await _compare(demo_app, period_id, scheme_from())
    async with demo_app.sessions() as session:
        ranks = dict(
            (await session.execute(select(Standing.employee_id, Standing.rank_agency))).all()
        )
    assert ranks == {b: 1, c: 2, a: 3, d: None}


async def test_weights_renormalised_over_groups_present(demo_app) -> None:
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    async with demo_app.sessions() as session, session.begin():
        await _rate(session, period_id, 1, 5, 5, T0, "superior")
        await _rate(session, period_id, 2, 5, 4, T0, "peer")
        await _rate(session, period_id, 3, 5, 4, T0, "peer")
    await _compare(demo_app, period_id, scheme_from())
    async with demo_app.sessions() as session:
        standing = await session.scalar(select(Standing))
        period = await session.get(RatingPeriod, period_id)
        assert standing is not None and period is not None
        shown = await disclose_person(session, scheme_from(), standing.employee_id, [period])
    assert standing.score == pytest.approx((0.4 * 5 + 0.3 * 4) / 0.7, abs=1e-6)
    # One superior and two peers: neither group has 3 raters, nothing broken down.
    assert shown[period_id].groups == {} and shown[period_id].withheld


async def test_winners_shortlist_and_year(demo_app) -> None:
    """Four quarters published in turn; awards equal a Python reading of the rules."""
    scheme = scheme_from({"rules": {"shortlist_size": 5}})
    per_quarter: dict[int, dict[int, dict]] = {}
    async with demo_app.sessions() as session, session.begin():
        from storage.models import RatingScheme

        session.add(RatingScheme(agency_id=1, config={"rules": {"shortlist_size": 5}}))
    for quarter in (1, 2, 3, 4):
        period_id = await _setup_quarter(demo_app, QuarterRef(2025, quarter))
        await _random_ratings(demo_app, period_id, seed=10 + quarter, count=260)
        per_quarter[quarter] = await _compare(demo_app, period_id, scheme)
        async with demo_app.sessions() as session, session.begin():
            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            await periods.close_period(session, period, scheme, "test")
            await periods.publish_period(session, period, scheme, "test")
    async with demo_app.sessions() as session:
        awards = list(
            await session.scalars(select(Award).order_by(Award.kind, Award.part, Award.rank))
        )
    got = defaultdict(list)
    for award in awards:
        got[(award.kind, award.part)].append(award.employee_id)

    for quarter, want in per_quarter.items():
        best = [k for k, v in want.items() if v.get("rank") == 1]
        assert got[("quarter", quarter)] == best

    def span(quarters: tuple[int, ...], min_quarters: int) -> list[int]:
        acc: dict[int, list] = defaultdict(list)
        for q in quarters:
            for k, v in per_quarter[q].items():
                if v["eligible"]:
                    acc[k].append(v)
        agg = {
            k: (
                round(sum(v["score"] for v in vs) / len(vs), 6),
                sum(v["n"] for v in vs),
                max(v["last"] for v in vs),
            )
            for k, vs in acc.items()
            if len(vs) >= min_quarters
        }
        return sorted(agg, key=lambda k: (-agg[k][0], -agg[k][1], agg[k][2], k))

    s1, s2 = span((1, 2), 2)[:5], span((3, 4), 2)[:5]
    assert got[("shortlist", 1)] == s1 and got[("shortlist", 2)] == s2
    finalists = [k for k in span((1, 2, 3, 4), 1) if k in set(s1) | set(s2)][:3]
    assert got[("year", 0)] == finalists and len(finalists) == 3


async def test_anonymity_outputs_invariant_under_rater_permutation(
    chat, demo_app, tmp_path: Path
) -> None:
    """Swap which subordinate gave which score: the standing text, chart and exports are the same
    bytes, so none of them can carry who gave what."""
    from handlers.standing import standing_text  # noqa: F401  (the screen under test)

    rows = await employee_ids(demo_app)
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    raters = [rows[JOKO_S], rows[JOKO_K], rows[WULAN], rows[SRI]]
    async with demo_app.sessions() as session, session.begin():
        for i, (rater, value) in enumerate(zip(raters, [2, 3, 4, 5], strict=True)):
            await _rate(
                session, period_id, rater, rows[RINA], value, T0 + timedelta(hours=i), "subordinate"
            )
        await _rate(session, period_id, rows[1], rows[RINA], 5, T0, "superior")
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme_from(), "test")
        await periods.publish_period(session, period, scheme_from(), "test")

    rina = await linked(chat, RINA)

    async def outputs() -> tuple[str, bytes, bytes, list[tuple[object, ...]]]:
        await rina.send("/posisi")
        reply = rina.replies[0]
        assert reply.attachment is not None
        async with demo_app.sessions() as session:
            from bot.services import standings

            period = await session.get(RatingPeriod, period_id)
            assert period is not None
            records = standings.export_records(
                await standings.ranking(session, period, scheme_from())
            )
        # An XLSX carries its save time (openpyxl stamps it, as does the zip): compare cells.
        book = load_workbook(io.BytesIO(standings.write_xlsx(records, "x")), read_only=True)
        cells = [tuple(row) for row in book.active.iter_rows(values_only=True)]  # type: ignore[union-attr]
        return reply.text, reply.attachment.content, standings.write_csv(records), cells

    before = await outputs()
    async with demo_app.sessions() as session, session.begin():
        ratings = list(
            await session.scalars(
                select(Rating).where(Rating.relation == "subordinate").order_by(Rating.rater_id)
            )
        )
        values = [(r.scores, r.score) for r in ratings]
        for rating, (scores, score) in zip(ratings, values[::-1], strict=True):
            rating.scores, rating.score = scores, score
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await compute_standings(session, period, scheme_from())
    after = await outputs()
    assert before == after
    text = before[0]
    assert "Bawahan: 3,50 (4 penilai)" not in text  # one superior would be derivable: hidden
    assert "Jumlah penilai: 5" in text
    for name in ("Joko", "Wulan", "Sri", "Mega"):
        assert name not in text
    assert b"Joko" not in before[2] and b"Wulan" not in before[2]


def test_cli_period_and_export(database_url: str, tmp_path: Path, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert main(["demo", "load", "--roster-only"]) == 0  # the demo's own quarters stay out
    assert main(["period", "open", "2025-Q3", "--until", "2099-12-31"]) == 0
    assert "2025-Q3" in capsys.readouterr().out
    assert main(["period", "open", "2025-Q4"]) == 1  # another quarter is still open
    assert "Masih ada triwulan lain" in capsys.readouterr().err

    async def seed() -> None:
        from bot.app import create_app
        from bot.config import Settings

        app = await create_app(
            Settings(_env_file=None, database_url=database_url, auto_migrate=False)
        )
        async with app.sessions() as session, session.begin():
            period = await session.scalar(select(RatingPeriod))
            assert period is not None
            for rater in (2, 3, 4):
                await _rate(session, period.id, rater, 1, 4, T0)
            await _rate(session, period.id, 5, 6, 5, T0)
        await app.close()

    asyncio.run(seed())
    assert main(["standings", "export", "2025-Q3", "--out", str(tmp_path)]) == 1  # still open
    assert main(["period", "publish", "2025-Q3"]) == 1  # not closed yet
    assert main(["period", "close", "2025-Q3"]) == 0
    assert main(["period", "publish", "2025-Q3"]) == 0
    assert main(["standings", "export", "2025-Q3", "--out", str(tmp_path)]) == 0
    csv_text = (tmp_path / "standings-2025-Q3.csv").read_text()
    lines = csv_text.splitlines()
    assert lines[0].startswith("rank_agency,rank_unit,nip,name,unit,score,rater_count")
    assert len(lines) == 3 and "Mega Hidayat" in lines[1] and ",4.0,3," in lines[1]
    assert "comment" not in csv_text
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "standings-2025-Q3.xlsx").active
    assert sheet is not None and sheet.max_row == 3
    assert main(["period", "close", "bogus"]) == 1
