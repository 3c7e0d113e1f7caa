"""`abdi broadcast send|schedule|status|cancel`, `abdi reminder`, `abdi worker --once` as an HR
operator uses them, against the fake Bot API."""

from __future__ import annotations

import csv
import io

from sqlalchemy import func, select

from storage.models import AuditLog, Broadcast, Delivery, Employee, Unit
from tests.fakes.fake_bot_api import TOKEN
from tests.helpers.delivery_helpers import link_all


async def test_send_status_csv_from_the_shell(
    cli, demo_app, bot_api, monkeypatch, tmp_path
) -> None:
    chats = await link_all(demo_app)
    async with demo_app.sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == "Dinas Pendidikan"))
        members = list(
            await session.scalars(
                select(Employee).where(Employee.unit_id == unit.id).order_by(Employee.id)
            )
        )
    blocked = members[0]
    bot_api.blocked.add(chats[blocked.id])

    result = await cli(
        "broadcast", "send", "--text", "Apel hari Senin.", "--unit", "dinas pendidikan", "--yes"
    )
    assert result.code == 0, result
    assert f"Penerima: {len(members)} ASN" in result.out and "📢 Apel hari Senin." in result.out
    assert f"Siaran #1: {len(members)} pesan" in result.out

    status = await cli("broadcast", "status", "1")
    assert f"menunggu {len(members)}" in status.out

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", bot_api.base)
    monkeypatch.setenv("TELEGRAM_CHAT_INTERVAL", "0")
    worker = await cli("worker", "--once")
    assert worker.code == 0, worker
    assert f"Terkirim {len(members) - 1}" in worker.out
    got = sorted(int(c.params["chat_id"]) for c in bot_api.accepted)
    assert got == sorted(chats[m.id] for m in members[1:])

    out = tmp_path / "undelivered.csv"
    report = await cli("broadcast", "status", "1", "--csv", str(out))
    assert f"Terkirim {len(members) - 1}" in report.out and "tidak terjangkau 1" in report.out
    assert "tidak terjangkau: 403 Forbidden: bot was blocked — 1" in report.out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert [(r["nip"], r["status"]) for r in rows] == [(blocked.nip, "unreachable")]

    listing = await cli("broadcast", "status")
    assert "#1" in listing.out and "Apel hari Senin." in listing.out
    async with demo_app.sessions() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "broadcast.create"))
    assert audit is not None and audit.actor.startswith("cli")


async def test_schedule_and_cancel_from_the_shell(cli, demo_app) -> None:
    await link_all(demo_app, limit=10)
    past = await cli("broadcast", "schedule", "--text", "x", "--at", "2020-01-01 08:00", "--yes")
    assert past.code != 0 and "sudah lewat" in past.err
    bad = await cli("broadcast", "schedule", "--text", "x", "--at", "besok pagi", "--yes")
    assert bad.code != 0 and "tidak terbaca" in bad.err
    ok = await cli(
        "broadcast",
        "schedule",
        "--text",
        "Pengumuman",
        "--at",
        "2099-05-01 08:00",
        "--role",
        "hr",
        "--yes",
    )
    assert ok.code == 0 and "dijadwalkan pada Jumat, 1 Mei 2099, pukul 08.00 WIB" in ok.out, ok
    cancel = await cli("broadcast", "cancel", "1")
    assert cancel.code == 0 and "dibatalkan" in cancel.out
    again = await cli("broadcast", "cancel", "1")
    assert again.code != 0 and "tidak bisa dibatalkan" in again.err
    missing = await cli("broadcast", "cancel", "99")
    assert missing.code != 0 and "#99 tidak ada" in missing.err
    async with demo_app.sessions() as session:
        b = await session.get(Broadcast, 1)
        assert b is not None and b.status == "cancelled"
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_bad_input_gets_one_clear_line(cli, demo_app, tmp_path) -> None:
    unknown = await cli("broadcast", "send", "--text", "x", "--unit", "Dinas Luar Angkasa", "--yes")
    assert unknown.code != 0 and "Dinas Luar Angkasa" in unknown.err and "BKPSDM" in unknown.err
    empty = await cli("broadcast", "send", "--text", "   ", "--yes")
    assert empty.code != 0 and "kosong" in empty.err
    exe = tmp_path / "virus.exe"
    exe.write_bytes(b"MZ")
    attach = await cli("broadcast", "send", "--text", "x", "--attach", str(exe), "--yes")
    assert attach.code != 0 and "gambar atau PDF" in attach.err
    topic = await cli("broadcast", "send", "--text", "x", "--not-acked", "nope", "--yes")
    assert topic.code != 0 and "tidak dikenal" in topic.err
    unconfirmed = await cli("broadcast", "send", "--text", "Halo")  # stdin is empty: no "y"
    assert unconfirmed.code == 1 and "Tidak jadi dikirim" in unconfirmed.out
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0


async def test_a_pdf_goes_out_as_a_document(cli, demo_app, bot_api, monkeypatch, tmp_path) -> None:
    await link_all(demo_app, limit=2)
    pdf = tmp_path / "surat-edaran.pdf"
    pdf.write_bytes(b"%PDF-1.4 test")
    sent = await cli(
        "broadcast", "send", "--text", "Surat edaran terlampir.", "--attach", str(pdf), "--yes"
    )
    assert sent.code == 0, sent
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", bot_api.base)
    await cli("worker", "--once")
    documents = [c for c in bot_api.accepted if c.method == "sendDocument"]
    assert len(documents) == 2
    files = [v for v in documents[0].params.values() if isinstance(v, dict)]
    assert [f["filename"] for f in files] == ["surat-edaran.pdf"]
    assert "Surat edaran terlampir." in documents[0].params["caption"]


async def test_reminders_from_the_shell(cli, demo_app) -> None:
    added = await cli("reminder", "add", "before-close", "--days", "3", "--at", "08.00")
    assert added.code == 0 and "#1 aktif" in added.out
    weekly = await cli("reminder", "add", "weekly", "--day", "mon", "--at", "07:00")
    assert weekly.code != 0 and "--text" in weekly.err
    bad = await cli("reminder", "add", "weekly", "--at", "25:99", "--text", "Apel")
    assert bad.code != 0 and "Jam tidak terbaca" in bad.err
    listing = await cli("reminder", "list")
    assert "#1" in listing.out and "3 hari sebelum triwulan ditutup, pukul 08:00" in listing.out
    assert "→ Belum menilai rekan triwulan ini" in listing.out and "not_rated" not in listing.out
    removed = await cli("reminder", "remove", "1")
    assert removed.code == 0
    assert "Belum ada pengingat" in (await cli("reminder", "list")).out


async def test_a_csv_into_a_missing_folder_is_one_clear_line(cli, demo_app) -> None:
    await link_all(demo_app, limit=2)
    assert (await cli("broadcast", "send", "--text", "Halo", "--yes")).code == 0
    result = await cli("broadcast", "status", "1", "--csv", "/nonexistent/dir/u.csv")
    assert result.code == 2 and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1 and "/nonexistent/dir/u.csv" in result.err


async def test_targets_without_chat_are_counted_and_in_the_csv(cli, demo_app, tmp_path) -> None:
    linked_ids = await link_all(demo_app, limit=3)
    async with demo_app.sessions() as session:
        staff = list(await session.scalars(select(Employee).where(Employee.status == "active")))
    sent = await cli("broadcast", "send", "--text", "Halo semua", "--yes")
    assert sent.code == 0
    out = tmp_path / "u.csv"
    status = await cli("broadcast", "status", "1", "--csv", str(out))
    unlinked = len(staff) - len(linked_ids)
    assert f"{len(staff)} sasaran, {unlinked} tanpa akun chat" in status.out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    expected = {e.nip for e in staff if e.id not in linked_ids}
    assert {r["nip"] for r in rows} == expected
    assert {r["reason"] for r in rows} == {"belum terhubung ke chat"}
    nobody = await cli("broadcast", "send", "--text", "x", "--unit", "Dinas Kesehatan", "--yes")
    assert "tidak akan sampai ke siapa pun" in nobody.out


async def test_statuses_read_in_indonesian(cli, demo_app) -> None:
    await link_all(demo_app, limit=2)
    await cli("broadcast", "schedule", "--text", "Nanti", "--at", "2099-05-01 08:00", "--yes")
    await cli("broadcast", "send", "--text", "Sekarang", "--yes")
    listing = await cli("broadcast", "status")
    assert "terjadwal" in listing.out and "sedang dikirim" in listing.out
    assert not any(w in listing.out for w in ("scheduled", "sending"))
    await cli("broadcast", "cancel", "1")
    again = await cli("broadcast", "cancel", "1")
    assert "sudah dibatalkan" in again.err and "cancelled" not in again.err
    one = await cli("broadcast", "status", "1")
    assert "dibatalkan" in one.out and "100%" not in one.out


async def test_reminder_mistakes_get_a_clear_answer(cli, demo_app) -> None:
    first = await cli("reminder", "add", "before-close", "--days", "3", "--at", "08:00")
    assert first.code == 0
    twice = await cli("reminder", "add", "before-close", "--days", "3", "--at", "08.00")
    assert twice.code != 0 and "sudah aktif (#1)" in twice.err
    other = await cli("reminder", "add", "before-close", "--days", "1", "--at", "08:00")
    assert other.code == 0  # another day is another reminder
    far = await cli("reminder", "add", "before-close", "--days", "99")
    assert far.code != 0 and "0 sampai 60" in far.err
    topic = await cli("reminder", "add", "before-close", "--not-acked", "nope")
    assert topic.code != 0 and "nope" in topic.err and "netralitas" in topic.err
    listing = await cli("reminder", "list")
    assert listing.out.count("#") == 2


async def test_schedule_accepts_the_chat_time_forms(cli, demo_app) -> None:
    await link_all(demo_app, limit=2)
    ok = await cli("broadcast", "schedule", "--text", "Apel", "--at", "besok 07.30", "--yes")
    assert ok.code == 0 and "pukul 07.30 WIB" in ok.out, ok  # one date style (issue point 9)
    weekday = await cli("broadcast", "schedule", "--text", "Apel", "--at", "senin 07.00", "--yes")
    assert weekday.code == 0 and "Senin, " in weekday.out and "pukul 07.00 WIB" in weekday.out
    bad = await cli("broadcast", "schedule", "--text", "x", "--at", "kapan-kapan", "--yes")
    assert bad.code != 0 and "besok 07.30" in bad.err


async def test_attachments_are_checked_by_content(cli, demo_app, tmp_path) -> None:
    await link_all(demo_app, limit=2)
    missing = await cli("broadcast", "send", "--text", "x", "--attach", "/nope.pdf", "--yes")
    assert missing.code != 0 and "berkas tidak ditemukan: /nope.pdf" in missing.err
    assert "Errno" not in missing.err and "konfigurasi" not in missing.err
    fake = tmp_path / "surat.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf at all")
    named_pdf = await cli("broadcast", "send", "--text", "x", "--attach", str(fake), "--yes")
    assert named_pdf.code != 0 and "gambar atau PDF" in named_pdf.err
    photo = tmp_path / "foto-apel.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    sent = await cli("broadcast", "send", "--text", "Foto apel", "--attach", str(photo), "--yes")
    assert sent.code == 0 and "Lampiran: foto-apel.png" in sent.out
    async with demo_app.sessions() as session:
        stored = await session.scalar(select(Broadcast.attachment_type))
    assert stored == "image/png"
