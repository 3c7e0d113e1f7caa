"""The family's satisfaction (SKM): asked once at 10.00 the day after they confirmed receipt, never
the same night, never reminded, never for a cancelled case; the score and optional comment are
stored with the case and shown per month to HR in the shell."""

from __future__ import annotations

from datetime import timedelta

from bot import jobs
from bot.services.four_in_one import satisfaction
from tests.flows.test_four_in_one_closing import _all_ready
from tests.helpers.four_in_one_helpers import (
    HR_PHONE,
    OFFICER_PHONE,
    link,
    live_case,
    report_by_nip,
    staff_opens,
)

JOB = ["case.satisfaction"]


async def _received(chat, demo_app, family_ref: str, officer_ref: str):
    family = chat(family_ref)
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, officer_ref, OFFICER_PHONE, case.id)
    await _all_ready(officer, case.id)
    await family.send("/menu")
    await family.press("Kasus keluarga saya")
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")
    case = await live_case(demo_app)
    assert case.status == "closed" and case.closed_at is not None
    return family, case


def _asked(got: list[str]) -> int:
    return sum("Seberapa puas" in g for g in got)


async def test_asked_next_day_once_stored_and_reported(chat, demo_app, inbox, cli) -> None:
    family, case = await _received(chat, demo_app, "7201", "7202")
    ask_at = satisfaction.ask_from(case.closed_at, "Asia/Jakarta")
    assert ask_at - case.closed_at > timedelta(hours=10)  # never the night of the handover
    await jobs.run_due(demo_app, case.closed_at + timedelta(hours=3), names=JOB)
    await jobs.run_due(demo_app, ask_at - timedelta(minutes=20), names=JOB)
    assert _asked(await inbox(family.user_ref)) == 0
    await jobs.run_due(demo_app, ask_at + timedelta(minutes=1), names=JOB)
    await jobs.run_due(demo_app, ask_at + timedelta(days=2), names=JOB)  # never reminded
    assert _asked(await inbox(family.user_ref)) == 1

    stranger = chat("7203")
    await stranger.action(f"skm:score:{case.id}:1")  # not this case's family
    assert "Ada saran" not in stranger.text
    await family.action(f"skm:score:{case.id}:3")
    assert "Ada saran atau catatan" in family.text
    await family.send("Petugas ramah, tapi antrean lama.")
    assert "Terima kasih atas jawaban Anda" in family.text
    await family.action(f"skm:score:{case.id}:1")  # a second tap changes nothing
    assert "sudah kami terima sebelumnya" in family.text
    stored = await live_case(demo_app)
    assert stored.skm_score == 3 and stored.skm_comment == "Petugas ramah, tapi antrean lama."

    assert stored.skm_answered_at is not None
    month = stored.skm_answered_at.astimezone(satisfaction.ZoneInfo("Asia/Jakarta"))
    report = await cli("case", "satisfaction", "--month", month.strftime("%Y-%m"))
    assert report.code == 0, report
    assert "1 jawaban, rata-rata 3.00 dari 4, indeks 75.0" in report.out
    assert "• 3 Baik: 1" in report.out and "• 1 Tidak baik: 0" in report.out
    assert "(3) Petugas ramah, tapi antrean lama." in report.out
    other = await cli("case", "satisfaction", "--month", "2001-01")
    assert "Belum ada jawaban" in other.out

    hr = chat("7204")
    await link(hr, HR_PHONE)
    await hr.press("Keluarga berduka")
    await hr.press("Laporan 4-in-1")
    assert "Kepuasan keluarga (SKM)" in hr.text and "indeks 75.0" in hr.text
    assert "Petugas ramah" in hr.text


async def test_the_comment_may_be_skipped(chat, demo_app) -> None:
    family, case = await _received(chat, demo_app, "7211", "7212")
    await jobs.run_due(demo_app, case.closed_at + timedelta(days=2), names=JOB)
    await family.action(f"skm:score:{case.id}:4")
    await family.press("Lewati")
    assert "Terima kasih atas jawaban Anda" in family.text
    stored = await live_case(demo_app)
    assert stored.skm_score == 4 and stored.skm_comment is None


async def test_a_cancelled_case_is_not_asked(chat, demo_app, inbox, cli) -> None:
    family = chat("7221")
    await report_by_nip(family)
    case = await live_case(demo_app)
    cancelled = await cli("case", "cancel", str(case.id), "--reason", "laporan keliru")
    assert cancelled.code == 0, cancelled
    await jobs.run_due(
        demo_app, (await live_case(demo_app)).created_at + timedelta(days=2), names=JOB
    )
    assert _asked(await inbox(family.user_ref)) == 0
    await family.action(f"skm:score:{case.id}:4")
    assert (await live_case(demo_app)).skm_score is None
