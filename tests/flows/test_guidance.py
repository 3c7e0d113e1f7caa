"""Media-ethics guidance through the conversation surface, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import LOCALES_DIR
from bot.messages import MAX_LABEL
from bot.services import guidance
from storage.models import AuditLog, GuidanceAck
from tests.flows.test_conversation import HR_PHONE, STAFF_PHONE, link

OTHER_PHONE = "081200000002"  # another demo ASN, not HR


@pytest.fixture
def content_dir(tmp_path: Path) -> Iterator[Path]:
    """A private copy of the guidance content, served by the bot for this test only."""
    root = tmp_path / "locales"
    for lang in ("id", "en"):
        shutil.copytree(LOCALES_DIR / lang / "guidance", root / lang / "guidance")
    previous = guidance.library()
    guidance.use_root(root).content()  # loaded now, as a running bot's would be
    yield root
    guidance._library = previous


def bump_version(root: Path, topic: str, version: int) -> None:
    for lang in ("id", "en"):
        path = root / lang / "guidance" / "topics" / f"{topic}.toml"
        text = path.read_text()
        path.write_text(text.replace("version = 1\n", f"version = {version}\n", 1))


async def test_guest_browses_topics_and_pages(chat) -> None:
    user = chat("7001")
    await user.send("/start")
    await user.press("Etika bermedsos")
    assert "Pedoman etika bermedia sosial" in user.text
    assert any("Netralitas pemilu" in label for label in user.labels)
    await user.press("Netralitas pemilu")
    assert "(1/4)" in user.text and "ASN wajib netral" in user.text
    assert not any("Sebelumnya" in label for label in user.labels)
    await user.press("Berikutnya")
    assert "(2/4)" in user.text and "Satu klik pun dihitung" in user.text
    await user.press("Berikutnya")
    assert "Yang dihindari" in user.text
    await user.press("Berikutnya")
    assert "(4/4)" in user.text and "Sumber:" in user.text
    assert not any("Berikutnya" in label for label in user.labels)
    assert not any("Sudah saya baca" in label for label in user.labels)  # nothing required
    await user.press("Sebelumnya")
    assert "(3/4)" in user.text
    await user.press("Daftar topik")
    assert "Pedoman etika" in user.text
    await user.press("Menu utama")
    assert "Silakan pilih layanan" in user.text


async def test_english_reader_gets_english_pages(chat) -> None:
    user = chat("7002", lang="en")
    await user.send("/pedoman")
    await user.press("Sanctions")
    assert "Levels of disciplinary penalty" in user.text
    assert "25%" in user.text and "source" in user.text.lower()


async def test_forged_guidance_payloads_refused(chat) -> None:
    user = chat("7003")
    await link(user, STAFF_PHONE)
    for payload in [
        "guidance:page:nope:0",
        "guidance:page:netralitas:x",
        "guidance:page:netralitas",
        "guidance:ack:netralitas:1",  # not required: nothing to confirm
        "guidance:require:netralitas",
        "guidance:hr",
        "guidance:official",  # only valid while pasting a caption
    ]:
        await user.action(payload)
        assert any(
            s in user.text for s in ("tidak berlaku", "bukan untuk akun", "tidak sedang wajib")
        ), payload
        assert user.labels, payload
    await user.action("guidance:page:netralitas:99")  # out of range: the last page, not a crash
    assert "(4/4)" in user.text


async def test_question_answered_from_guidance_with_topic_to_open(chat) -> None:
    user = chat("7004")
    await user.send("/pedoman")
    await user.press("Tanya")
    await user.send("boleh like postingan caleg?")
    assert "Menurut pedoman" in user.text and "Netralitas" in user.text
    assert any("📖 Netralitas" in label for label in user.labels)
    await user.send("berapa persen potongan tunjangan kinerja untuk hukuman sedang?")
    assert "25%" in user.text  # still in the question state: a second question is answered
    await user.press("📖 Sanksi")
    assert "Sanksi pelanggaran" in user.text
    await user.send("/tanya resep rendang padang yang enak")
    assert "tidak menemukan jawaban" in user.text
    assert any("Netralitas" in label for label in user.labels)  # the topic menu is offered


async def test_a_question_typed_on_a_topic_page_is_answered(chat) -> None:
    user = chat("7014")
    await user.send("/pedoman")
    await user.send("boleh like postingan caleg?")
    assert "Menurut pedoman" in user.text and "Netralitas" in user.text
    await user.press("📖 Netralitas")
    await user.send("apa sanksi untuk ASN yang tidak netral?")
    assert "Menurut pedoman" in user.text


def _first_passage(text: str) -> str:
    """The first quoted passage of an answer: what follows the first 📘 title line."""
    return text.split("📘", 1)[1].split("\n\n📘", 1)[0]


async def test_the_first_passage_shown_is_the_one_that_answers(chat) -> None:
    user = chat("7006")
    await user.send("/tanya boleh gak sih saya ngelike postingan caleg")
    first = _first_passage(user.text)
    assert "like" in first.lower() and "komentar" in first.lower(), user.text
    assert "ASN melayani semua warga" not in first  # not the topic's introduction

    # A sanction for a neutrality breach spans two topics: the sanction first, then the rule.
    await user.send("/tanya klo ketauan dukung paslon di fb hukumannya apa?")
    assert _first_passage(user.text).startswith(" Sanksi pelanggaran"), user.text
    assert "📘 Netralitas" in user.text
    assert any("📖 Sanksi" in label for label in user.labels)
    assert any("📖 Netralitas" in label for label in user.labels)
    await user.send("/tanya Apa sanksi kalau ASN tidak netral?")
    assert "📘 Sanksi pelanggaran" in user.text and "📘 Netralitas" in user.text

    # A question about what is allowed is answered by the rule, not by the sanctions example.
    await user.send("/tanya boleh nge-share poster paslon ke grup arisan?")
    assert _first_passage(user.text).startswith(" Netralitas"), user.text


async def test_english_questions_get_the_answering_passage_in_english(chat) -> None:
    user = chat("7007", lang="en")
    await user.send("/ask can I like a candidate's post on instagram?")
    first = _first_passage(user.text)
    assert "Liking" in first and "ASN serve every citizen" not in first, user.text
    await user.send("/ask What is the sanction for breaking election neutrality?")
    assert _first_passage(user.text).startswith(" Sanctions for breaches"), user.text
    assert "📘 Neutrality in elections" in user.text


async def test_post_check_sees_spelling_variants_emoji_and_hashtags(chat) -> None:
    user = chat("7021")
    await user.send("/pedoman")
    await user.press("Cek unggahan")
    await user.send("Foto bareng pak calon walikota di acara warga, semoga amanah ✌️")
    assert "Dukungan politik" in user.text and '"calon walikota"' in user.text
    assert "✌️" in user.text  # the finger pose beside a candidate is named too
    await user.press("Cek teks lain")
    await user.send("Staycation di hotel bintang 5 dulu bareng keluarga 🏨")
    assert "Pamer kemewahan" in user.text
    await user.press("Cek teks lain")
    await user.send("Bersatu untuk perubahan! #2024GantiPresiden #PKBMenang")
    assert "Dukungan politik" in user.text and "#pkbmenang" in user.text.lower()
    # Clean posts stay clean: a service rating, a work photo with a V sign, a voting reminder.
    for clean in (
        "Terima kasih atas rating bintang 5 untuk pelayanan kami di Mal Pelayanan Publik",
        "Foto bersama peserta pelatihan UMKM, semoga usahanya makin maju ✌️",
        "Jangan lupa datang ke TPS tanggal 14, gunakan hak pilih Anda",
    ):
        await user.press("Cek teks lain")
        await user.send(clean)
        assert "Tidak ada frasa dari daftar" in user.text, (clean, user.text)


async def test_english_post_check(chat) -> None:
    user = chat("7022", lang="en")
    await user.send("/pedoman")
    await user.press("Check a post")
    await user.send("Proud to stand with candidate number 2 at tonight's rally, let's win this!")
    assert "Political support" in user.text
    await user.press("Check another")
    await user.send("Our service was rated 5 stars by residents, thank you!")
    assert "No listed phrase found" in user.text and "✅" not in user.text


async def test_english_question_answered_in_english(chat) -> None:
    user = chat("7005", lang="en")
    await user.send("/ask Who must approve posts on an official agency account?")
    assert "According to the guidance" in user.text and "superior" in user.text
    assert any("📖 Official accounts" in label for label in user.labels)


async def test_acknowledgement_asked_once_and_again_after_version_change(
    chat, demo_app, content_dir
) -> None:
    hr, staff = chat("7010"), chat("7011")
    await link(hr, HR_PHONE)
    await link(staff, STAFF_PHONE)
    assert not any("Konfirmasi pedoman" in label for label in staff.labels)

    await hr.press("Etika bermedsos")
    await hr.press("Konfirmasi (HR)")
    assert "0/50 ASN" in hr.text
    await hr.press("Netralitas pemilu")
    await hr.press("Wajibkan")
    assert "sekarang wajib dikonfirmasi" in hr.text
    assert "Sekretariat Daerah: 0/10 (0%)" in hr.text

    await staff.send("/menu")
    assert any("Konfirmasi pedoman" in label for label in staff.labels)
    await staff.press("Konfirmasi pedoman")
    assert "BKPSDM meminta" in staff.text and "(1/4)" in staff.text
    for _ in range(3):
        await staff.press("Berikutnya")
    await staff.press("Sudah saya baca")
    assert "tercatat pada" in staff.text
    assert not any("Konfirmasi pedoman" in label for label in staff.labels)
    await staff.action("guidance:ack:netralitas:1")  # a second tap changes nothing
    assert "sudah Anda konfirmasi" in staff.text
    await staff.send("/menu")
    assert not any("Konfirmasi pedoman" in label for label in staff.labels)  # asked once

    await hr.press("Kembali")
    await hr.press("Netralitas pemilu")
    assert "Sekretariat Daerah: 1/10 (10%)" in hr.text

    # HR edits the topic and raises its version: the staff member is asked again.
    bump_version(content_dir, "netralitas", 2)
    await hr.press("Kembali")
    await hr.press("Muat ulang")
    assert "dimuat ulang: 6 topik" in hr.text
    await staff.send("/menu")
    assert any("Konfirmasi pedoman" in label for label in staff.labels)
    await staff.action("guidance:ack:netralitas:1")  # the old version's button is stale
    assert "baru saja diperbarui" in staff.text
    await staff.action("guidance:ack:netralitas:2")
    assert "versi 2 tercatat" in staff.text

    async with demo_app.sessions() as session:
        acks = list(await session.scalars(select(GuidanceAck).order_by(GuidanceAck.version)))
        actions = list(await session.scalars(select(AuditLog.action)))
    assert [(a.topic, a.version) for a in acks] == [("netralitas", 1), ("netralitas", 2)]
    assert acks[0].acked_at is not None and acks[0].channel == staff.channel.value
    assert "guidance.require" in actions and "guidance.reload" in actions


async def test_broken_content_edit_keeps_last_good_content(chat, content_dir) -> None:
    hr = chat("7012")
    await link(hr, HR_PHONE)
    path = content_dir / "en" / "guidance" / "topics" / "sanksi.toml"
    path.write_text(path.read_text().replace("version = 1", "version = 7"))
    await hr.action("guidance:reload")
    assert "TIDAK dimuat ulang" in hr.text and "version 7" in hr.text
    await hr.action("guidance:page:sanksi:0")
    assert "Tingkat hukuman disiplin" in hr.text


async def test_post_check_points_out_findings_and_stores_nothing(chat, demo_app) -> None:
    user = chat("7020")
    await link(user, OTHER_PHONE)
    await user.press("Etika bermedsos")
    await user.press("Cek unggahan")
    assert "tidak disimpan" in user.text
    draft = "Ayo coblos nomor 2! Akhirnya kebeli mobil baru juga 😎 #CoblosNomor2"
    await user.send(draft)
    assert "Dukungan politik" in user.text and '"coblos' in user.text
    assert "Pamer kemewahan" in user.text and '"mobil baru"' in user.text
    assert "Lebih aman:" in user.text
    assert "alat bantu, bukan putusan" in user.text
    await user.send("Layanan KTP keliling hari ini melayani 86 warga. Terima kasih tim!")
    assert "Tidak ada frasa dari daftar yang ditemukan" in user.text and "✅" not in user.text
    assert "tetap periksa sendiri" in user.text
    await user.press("Cek teks lain")
    await user.press("Untuk akun resmi")
    await user.send("Menurut saya layanan kami sudah bagus wkwk")
    assert "Nada pribadi di akun resmi" in user.text and "atasan sudah tahu" in user.text

    async with demo_app.sessions() as session:
        audit_details = [str(d) for d in await session.scalars(select(AuditLog.detail))]
    assert not any("coblos" in d or "mobil" in d for d in audit_details)
    state = await demo_app.store.get(f"{user.channel.value}:{user.user_ref}")
    assert state is not None and "Menurut saya" not in str(state.data)


async def test_menu_labels_and_payloads_fit_platform_limits(chat) -> None:
    hr = chat("7030")
    await link(hr, HR_PHONE)
    await hr.press("Etika bermedsos")
    await hr.press("Konfirmasi (HR)")
    for lang_user in (hr,):
        assert all(len(label) <= MAX_LABEL for label in lang_user.labels)
    content = guidance.library().content()
    assert len(content.ordered("id")) + 3 <= 10  # topics + ask + check + HR fit one keyboard


async def test_cli_require_status_and_validate(demo_app, monkeypatch, capsys) -> None:
    import asyncio

    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", demo_app.settings.database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert await asyncio.to_thread(main, ["guidance", "validate"]) == 0
    assert await asyncio.to_thread(main, ["guidance", "require", "sanksi"]) == 0
    assert "sekarang wajib dikonfirmasi" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["guidance", "status", "sanksi"]) == 0
    out = capsys.readouterr().out
    assert "sanksi v1 (wajib dikonfirmasi): 0/50" in out and "BKPSDM: 0/10 (0%)" in out
    assert await asyncio.to_thread(main, ["guidance", "require", "nope"]) == 1
    async with demo_app.sessions() as session:
        rows = list(
            await session.scalars(select(AuditLog).where(AuditLog.action.like("guidance%")))
        )
    assert [(r.action, r.target) for r in rows] == [("guidance.require", "guidance:sanksi")]
    assert rows[0].actor.startswith("cli")
