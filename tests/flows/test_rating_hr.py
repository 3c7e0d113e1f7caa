"""HR views: rankings, coaching list, integrity flags with evidence, XLSX in chat."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.services import periods
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import scheme_from
from storage.models import RatingPeriod, Standing
from tests.flows.test_standings import T0, _rate, _setup_quarter
from tests.helpers.rating_helpers import FAJAR_HR, JOKO_S, linked


async def test_hr_sees_flags_with_evidence_rankings_and_coaching(chat, demo_app) -> None:
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    async with demo_app.sessions() as session, session.begin():
        await _rate(session, period_id, 11, 12, 5, T0)  # a mutual pair of top scores
        await _rate(session, period_id, 12, 11, 5, T0 + timedelta(days=1))
        await _rate(session, period_id, 21, 22, 5, T0)  # a ring 21 -> 22 -> 23 -> 21
        await _rate(session, period_id, 22, 23, 5, T0 + timedelta(days=1))
        await _rate(session, period_id, 23, 21, 5, T0 + timedelta(days=2))
        for i, ratee in enumerate((1, 2, 3, 4)):  # one score for everyone, over days
            await _rate(session, period_id, 41, ratee, 3, T0 + timedelta(days=i))
        for i, ratee in enumerate((1, 2, 3, 4, 5)):  # five ratings in under a minute
            await _rate(session, period_id, 42, ratee, 2 + i % 3, T0 + timedelta(seconds=10 * i))
        await _rate(session, period_id, 43, 1, 5, T0)
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme_from(), "test")

    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Peringkat")
    await hr.press("2025-Q1")
    assert "Peringkat triwulan 2025-Q1 (ditutup)" in hr.text
    assert "1. Mega Hidayat" in hr.text
    await hr.press("Tanda kejanggalan")
    text = hr.text
    # One line per person and pattern (2 of a pair, 3 of a ring, 1 + 1): the pattern and its
    # size, never a score given nor who it was given to.
    assert "Tanda kejanggalan triwulan 2025-Q1: 7" in text
    assert (
        "Fitri Lubis (196911031995042011): pola saling menilai yang janggal dengan 1 rekan" in text
    )
    assert "Rani Saputra (198608032008042012): pola saling menilai yang janggal" in text
    assert (
        "Rahmat Lubis (197004201995031022): ikut dalam 1 lingkaran saling menilai yang janggal"
        in text
    )
    assert "memberi nilai yang sama untuk semua 4 rekan yang dinilainya" in text
    assert "5 penilaian dalam 40 detik" in text
    assert "3.00" not in text and "3,00" not in text and "tidak ditampilkan kepada Anda" not in text
    await hr.press("Butuh pembinaan")
    assert "khusus HR" in hr.text
    await hr.press("Unduh XLSX")
    assert hr.replies[0].attachment is not None
    assert hr.replies[0].attachment.filename == "standings-2025-Q1.xlsx"
    # Flags never block: every rating still counts.
    async with demo_app.sessions() as session:
        counts = dict(
            (await session.execute(select(Standing.employee_id, Standing.rater_count))).all()
        )
    assert counts[1] == 3 and counts[2] == 2  # raters 41, 42, 43 and 41, 42

    # Winners are not recorded before publishing, and an ordinary ASN never sees these screens.
    await hr.press("Pemenang")
    assert "saat triwulan diumumkan" in hr.text
    joko = await linked(chat, JOKO_S)
    for payload in (f"standing:flags:{period_id}", f"standing:coach:{period_id}"):
        await joko.action(payload)
        assert "bukan untuk akun Anda" in joko.text
    await joko.action(f"standing:of:{period_id}")  # closed, not yet published
    assert "tidak berlaku" in joko.text


async def _quarter_with(demo_app, values: dict[int, tuple[int, ...]]) -> int:
    period_id = await _setup_quarter(demo_app, QuarterRef(2025, 1))
    async with demo_app.sessions() as session, session.begin():
        for ratee, given in values.items():
            for i, value in enumerate(given):
                await _rate(session, period_id, 40 + i, ratee, value, T0 + timedelta(hours=ratee))
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await periods.close_period(session, period, scheme_from(), "test")
    return period_id


async def test_coaching_list_states_its_rule_and_skips_the_winner(chat, demo_app) -> None:
    values: dict[int, tuple[int, ...]] = {k: (5, 5, 5) for k in (1, 2, 3, 4)}
    values |= {5: (4, 4, 4), 6: (4, 4, 4), 7: (4, 4, 4), 8: (4, 4, 3), 9: (3, 3, 3), 10: (2, 2, 2)}
    await _quarter_with(demo_app, values)
    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Peringkat")
    await hr.press("2025-Q1")
    winner = next(line for line in hr.text.splitlines() if line.startswith("1. "))
    winner_name = winner[3:].split(",")[0]
    await hr.press("Butuh pembinaan")
    text = hr.text
    assert "dari 10 orang yang masuk peringkat" in text
    assert "di bawah 3,00" in text and "kuartil bawah" in text and "median (4,00)" in text
    listed = [line for line in text.splitlines() if line[:1].isdigit()]
    assert [line.split(".")[0] for line in listed] == ["10", "9", "8"]
    assert winner_name not in text
    assert all(": 4,00" not in line and ": 5,00" not in line for line in listed)


async def test_coaching_list_needs_enough_ranked(chat, demo_app) -> None:
    await _quarter_with(demo_app, {1: (5, 5, 5), 2: (2, 2, 2), 3: (1, 1, 1)})
    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Peringkat")
    await hr.press("2025-Q1")
    await hr.press("Butuh pembinaan")
    assert "baru 3 orang masuk peringkat" in hr.text and "paling sedikit 8" in hr.text
    assert "(1 penilai)" not in hr.text and not any(
        line[:1].isdigit() for line in hr.text.splitlines()[1:]
    )
