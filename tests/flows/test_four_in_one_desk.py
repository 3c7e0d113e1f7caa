"""4-in-1 officers' desk: cancelling a bogus case, attaching a NIP, reissuing a lost code."""

from __future__ import annotations

from sqlalchemy import func, select

from storage.models import AuditLog, FourInOneCase
from tests.helpers.four_in_one_helpers import (
    OFFICER_PHONE,
    code_in,
    staff_opens,
)


async def test_officer_cancels_a_bogus_case_and_attaches_a_nip(chat, cli, demo_app) -> None:
    family = chat("7140")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send("Putri Gunawan")
    await family.send("Kantor yang tidak ada")
    await family.press("Kemarin")
    await family.send("08.00")
    await family.send("Andi")
    await family.press("Anak")
    await family.send("081311112222")
    await family.press("✅ Kirim")
    officer = await staff_opens(chat, "7141", OFFICER_PHONE, 1)
    await officer.press("Lainnya")
    await officer.press("Isi NIP")
    await officer.send("199803132020012001")  # Mega Hidayat: not who the family named
    await officer.press("Ya, tandai wafat")
    assert "tidak sama dengan nama yang dilaporkan" in officer.text
    await officer.press("Lainnya")
    await officer.press("Isi NIP")
    await officer.send("197109231993012007")
    assert "Tandai Putri Gunawan" in officer.text
    await officer.press("Ya, tandai wafat")
    assert "ditandai wafat" in officer.text
    bogus = await cli(
        "case", "open", "--name", "Orang Iseng", "--unit", "X", "--died", "2026-11-01 10:00",
    )  # fmt: skip
    assert bogus.code == 0
    await officer.action("case:show:2")
    await officer.press("Lainnya")
    await officer.press("Batalkan kasus")
    await officer.send("Laporan palsu")
    assert "Batalkan kasus #2" in officer.text and "Laporan palsu" in officer.text
    await officer.press("Ya, batalkan kasus")
    assert "Kasus dibatalkan" in officer.text and "dibatalkan" in officer.text
    assert (await cli("case", "cancel", "2", "--reason", "lagi")).code != 0
    escalated = await cli("case", "escalate")
    assert "1 kasus" not in escalated.out or "#2" not in escalated.out
    async with demo_app.sessions() as session:
        cancelled = await session.get(FourInOneCase, 2)
        assert cancelled.status == "cancelled" and cancelled.overdue_at is None
        logged = await session.scalar(
            select(func.count()).where(
                AuditLog.action == "case.cancel", AuditLog.target == "case:2"
            )
        )
        assert logged == 1
    report = await cli("case", "report")
    assert "1 kasus" in report.out  # the cancelled one is not counted
    listed = await cli("case", "list")
    assert "Orang Iseng" not in listed.out


async def test_officer_reissues_a_lost_code(chat, cli, demo_app) -> None:
    opened = await cli(
        "case", "open", "--name", "Hj. Aminah", "--pensioner", "123456",
        "--died", "2026-11-19 10:00",
    )  # fmt: skip
    old = code_in(opened.out)
    officer = await staff_opens(chat, "7181", OFFICER_PHONE, 1)
    await officer.press("Lainnya")
    await officer.press("Kode lacak baru")
    new = code_in(officer.text)
    assert new != old
    holder = chat("7182")
    await holder.send("/lacak " + old)
    assert "tidak kami kenal" in holder.text
    await holder.send("/lacak " + new)
    assert "Akta kematian: belum diproses" in holder.text
    async with demo_app.sessions() as session:
        logged = await session.scalar(select(func.count()).where(AuditLog.action == "case.code"))
        assert logged == 1
