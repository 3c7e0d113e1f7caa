"""Integrity flags as evidence without values, and only for HR officers outside the circle.

An HR officer is in the circle of a flagged rater when they are that rater, are in the rater's
rating circle under the roster (superior, peer, subordinate), or rated or were rated by the
rater in the quarter. Such an officer does not see the flag; another HR officer outside every
circle of the flag does; when none can, the officer is told that flags need someone else.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.services import periods, rating
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import scheme_from
from storage.models import AuditLog, Employee, RatingPeriod
from tests.flows.test_standings import T0, _rate, _setup_quarter
from tests.helpers.rating_helpers import FAJAR_HR, linked

YUNI = 45  # Yuni Pratama, Kecamatan Sukamaju: in none of the circles below
FAJAR_NIP, YUNI_NIP = "198412052009031034", "197004221994012045"


async def _flagged_quarter(demo_app) -> int:
    """Fajar (34, HR): superior 32, peers 36, 38 and 40, no subordinates."""
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    async with demo_app.sessions() as session, session.begin():
        for i, ratee in enumerate((1, 2, 3, 4)):  # Fajar's peer: one score for everyone
            await _rate(session, period_id, 36, ratee, 2, T0 + timedelta(days=i))
        for i, ratee in enumerate((34, 1, 2, 3)):  # outside his roster circle, but rated him
            await _rate(session, period_id, 21, ratee, 4, T0 + timedelta(days=i))
        for i, ratee in enumerate((1, 2, 3, 4)):  # nobody near Fajar
            await _rate(session, period_id, 41, ratee, 3, T0 + timedelta(days=i))
        await _rate(session, period_id, 11, 12, 5, T0)  # a mutual pair of top scores
        await _rate(session, period_id, 12, 11, 5, T0 + timedelta(days=1))
        await _rate(session, period_id, 34, 38, 5, T0)  # Fajar himself in a mutual pair
        await _rate(session, period_id, 38, 34, 5, T0 + timedelta(days=1))
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme_from(), "test")
    return period_id


async def _flags_screen(user) -> str:
    await user.send("/menu")
    await user.press("Meja HR")
    await user.press("Peringkat")
    await user.press("2025-Q1")
    await user.press("Tanda kejanggalan")
    return user.text


async def test_the_circle_is_roster_circle_and_rating_partners(demo_app) -> None:
    period_id = await _flagged_quarter(demo_app)
    async with demo_app.sessions() as session:
        fajar = await session.get(Employee, 34)
        period = await session.get(RatingPeriod, period_id)
        assert fajar is not None and period is not None
        circle = await rating.circle_ids(session, fajar, period, scheme_from())
    # Himself, his superior (32), his peers (36, 38, 40), and Doni (21) who rated him.
    assert circle == {34, 32, 36, 38, 40, 21}


async def test_flags_show_patterns_not_values_and_hide_the_viewers_circle(
    chat, demo_app, cli
) -> None:
    period_id = await _flagged_quarter(demo_app)
    fajar = await linked(chat, FAJAR_HR)
    text = await _flags_screen(fajar)
    # Visible to Fajar: 41's one score for everyone, and the 11/12 pair (one line each).
    assert "Tanda kejanggalan triwulan 2025-Q1: 3" in text
    assert "Rudi Simanjuntak (199202172017011041): memberi nilai yang sama untuk semua 4" in text
    assert (
        "Fitri Lubis (196911031995042011): pola saling menilai yang janggal dengan 1 rekan" in text
    )
    # Hidden: his peer Nia (36), Doni who rated him (21), and the pair he is in himself.
    for name in ("Nia Halim", "Doni Firmansyah", "Fajar Santoso", "Hendra Rahayu"):
        assert name not in text, name
    # No value given to anyone: no score appears at all.
    assert not re.search(r"\d[.,]\d", text), text
    # Nobody else can review those three: he is told, with the way out.
    assert "3 tanda tidak ditampilkan kepada Anda" in text
    assert "petugas HR lain" in text
    # The way out it names: the terminal reviews every flag, and that read is logged too.
    result = await cli("standings", "flags", "2025-Q1")
    assert result.code == 0, result.err
    assert "Tanda kejanggalan triwulan 2025-Q1: 7" in result.out
    assert "Nia Halim (199403022018122036): memberi nilai yang sama untuk semua 4" in result.out
    assert not re.search(r"\d[.,]\d", result.out)

    async with demo_app.sessions() as session:
        logged = (
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "rating.flags.view").order_by(AuditLog.id)
            )
        ).all()
    assert [r.target for r in logged] == [f"period:{period_id}"] * 2
    assert logged[0].actor == "employee:34" and logged[1].actor.startswith("cli")
    assert logged[0].detail == {"shown": 3, "hidden": 3, "unreviewable": 3}

    # A second HR officer outside every circle: she sees all five, and Fajar is no longer told.
    result = await cli("role", "grant", YUNI_NIP, "hr")
    assert result.code == 0, result.err
    yuni = await linked(chat, YUNI)
    text = await _flags_screen(yuni)
    assert "Tanda kejanggalan triwulan 2025-Q1: 7" in text
    assert "Nia Halim (199403022018122036): memberi nilai yang sama untuk semua 4" in text
    assert "Doni Firmansyah (197101191994011021): memberi nilai yang sama" in text
    assert "Fajar Santoso (198412052009031034): pola saling menilai yang janggal" in text
    assert "Hendra Rahayu (199508252018011038): pola saling menilai yang janggal" in text
    assert "tidak ditampilkan kepada Anda" not in text
    assert not re.search(r"\d[.,]\d", text)
    text = await _flags_screen(fajar)
    assert "Tanda kejanggalan triwulan 2025-Q1: 3" in text
    assert "tidak ditampilkan kepada Anda" not in text and "Nia Halim" not in text
    async with demo_app.sessions() as session:
        last = await session.scalar(
            select(AuditLog)
            .where(AuditLog.action == "rating.flags.view")
            .order_by(AuditLog.id.desc())
        )
    assert last is not None and last.detail == {"shown": 3, "hidden": 3, "unreviewable": 0}


async def test_flags_in_english_carry_no_score(chat, demo_app) -> None:
    await _flagged_quarter(demo_app)
    fajar = await linked(chat, FAJAR_HR, lang="en")
    await fajar.send("/menu")
    await fajar.press("HR desk")
    await fajar.press("Rankings")
    await fajar.press("2025-Q1")
    await fajar.press("Integrity flags")
    text = fajar.text
    assert "gave the same score to all 4 colleagues rated" in text
    assert "3 flags are not shown to you" in text
    assert not re.search(r"\d[.,]\d", text)
