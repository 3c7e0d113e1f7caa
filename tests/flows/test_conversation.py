"""Conversation tests through the dispatcher, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.dispatcher import Dispatcher
from bot.messages import Channel, Inbound
from bot.routing import GUEST, Router
from bot.services import identity
from handlers.routers import HOME, ROUTERS
from storage.models import Account, AuditLog, Employee
from tests.fakes.chat import Chat

HR_NIP = "198412052009031034"
HR_PHONE = "081200000034"
STAFF_NIP = "199803132020012001"
STAFF_PHONE = "081200000001"


async def link(chat, phone: str) -> None:
    await chat.send("/start")
    await chat.press("Hubungkan")
    await chat.share_contact(phone)


async def test_start_shows_guest_menu_in_indonesian(chat) -> None:
    user = chat("5001")
    await user.send("/start")
    assert "Selamat datang di Abdi" in user.text
    assert any("Hubungkan akun" in label for label in user.labels)
    assert not any("Meja HR" in label for label in user.labels)


async def test_language_from_platform_hint_then_user_choice(chat) -> None:
    user = chat("5002", lang="en-US")
    await user.send("/start")
    assert "Welcome to Abdi" in user.text
    await user.send("/bahasa")
    await user.press("Bahasa Indonesia")
    assert "Bahasa diganti" in user.text
    await user.send("/menu")
    assert "Silakan pilih layanan" in user.text  # the choice beats the hint from now on


async def test_unknown_text_and_command_get_hint_and_menu(chat) -> None:
    user = chat("5003")
    await user.send("asdfgh qwerty")
    assert "belum mengerti" in user.text and user.labels
    await user.send("/tidakada")
    assert "/tidakada tidak dikenal" in user.text and user.labels


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("halo", "Selamat datang di Abdi"),
        ("Hai!", "Selamat datang di Abdi"),
        ("hello", "Selamat datang di Abdi"),
        ("START", "Selamat datang di Abdi"),
        ("mulai", "Selamat datang di Abdi"),
        ("Menu", "Silakan pilih layanan"),
        ("menu", "Silakan pilih layanan"),
        ("bantuan", "/batal"),
        ("help", "/batal"),
        ("batal", "Tidak ada yang perlu dibatalkan"),
    ],
)
async def test_plain_words_are_the_core_commands(chat, word: str, expected: str) -> None:
    user = chat("5030")
    await user.send(word)
    assert expected in user.text and "belum mengerti" not in user.text
    assert user.labels


async def test_plain_words_are_text_while_text_is_asked_for(chat) -> None:
    user = chat("5031")
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send("menu")  # read as the code asked for, not as the command
    assert "Silakan pilih layanan" not in user.text
    await user.send("halo apa kabar")  # a whole message only
    assert "Selamat datang" not in user.text


async def test_link_by_own_contact_then_menu_has_asn_entries(chat, demo_app) -> None:
    user = chat("5004")
    await link(user, STAFF_PHONE)
    assert "berhasil terhubung" in user.text
    assert any("Profil saya" in label for label in user.labels)
    await user.press("Profil saya")
    assert STAFF_NIP in user.text and "Sekretariat Daerah" in user.text
    async with demo_app.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action)))
    assert "account.link" in actions


async def test_someone_elses_contact_is_refused(chat, demo_app) -> None:
    user = chat("5005")
    await user.send("/start")
    await user.press("Hubungkan")
    await user.share_contact(STAFF_PHONE, owner="999999")
    assert "kontak Anda sendiri" in user.text
    await user.share_contact(STAFF_PHONE, owner="")
    assert "kontak Anda sendiri" in user.text
    async with demo_app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_ref == user.user_ref))
    assert account is not None and account.employee_id is None


@pytest.mark.parametrize(
    "spelling", ["+62 (0)812-0000-0001", "0062 812 0000 0001", "+62 812 0000 0001"]
)
async def test_contact_in_any_usual_spelling_links(chat, spelling: str) -> None:
    user = chat("5011")
    await link(user, spelling)
    assert "berhasil terhubung" in user.text


async def test_unknown_phone_and_second_account_refused(chat) -> None:
    stranger = chat("5006")
    await link(stranger, "+62 811-9999-0000")
    assert "tidak ada di data kepegawaian" in stranger.text
    first, second = chat("5007"), chat("5008")
    await link(first, STAFF_PHONE)
    await link(second, STAFF_PHONE)
    assert "sudah terhubung dengan akun lain" in second.text


async def test_link_code_single_use_and_rate_limited(chat, demo_app) -> None:
    async with demo_app.sessions() as session, session.begin():
        employee = await identity.employee_by_nip(session, 1, STAFF_NIP)
        assert employee is not None
        code, _ = await identity.create_link_code(session, employee, timedelta(hours=1), "test")
    user = chat("5009", channel=Channel.WHATSAPP)
    await user.send("/start")
    await user.press("Hubungkan")
    await user.press("kode")
    await user.send(code.lower().replace("-", " "))
    assert "berhasil terhubung" in user.text
    other = chat("5010")
    await other.send("/start")
    await other.press("Hubungkan")
    await other.press("kode")
    await other.send(code)
    assert "sudah dipakai" in other.text
    for _ in range(5):
        await other.send("ZZZZ-ZZZZ")
    assert "Terlalu banyak" in other.text


async def test_expired_code_refused(chat, demo_app) -> None:
    async with demo_app.sessions() as session, session.begin():
        employee = await identity.employee_by_nip(session, 1, STAFF_NIP)
        assert employee is not None
        code, _ = await identity.create_link_code(session, employee, timedelta(seconds=-1), "test")
    user = chat("5011")
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send(code)
    assert "kedaluwarsa" in user.text


async def test_cancel_and_menu_work_mid_flow(chat) -> None:
    user = chat("5012")
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send("/batal")
    assert "Dibatalkan" in user.text
    await user.send("ABCD-EFGH")  # no longer awaiting a code: plain unknown text
    assert "belum mengerti" in user.text
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send("/bantuan")
    assert "/batal" in user.text


async def test_forged_and_stale_payloads_refused(chat, demo_app) -> None:
    user = chat("5013")
    await link(user, STAFF_PHONE)  # an ordinary ASN, not HR
    for payload in [
        "admin:code:1",
        "admin:unlink:1:telegram",
        "nope:x",
        "home:lang:xx",
        "admin",
        "",
        "link:profile:::",
        "💥:💥",
    ]:
        await user.action(payload)
        assert "bukan untuk akun Anda" in user.text or "tidak berlaku" in user.text, payload
        assert user.labels, payload
    async with demo_app.sessions() as session:
        codes = await session.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "link_code.create")
        )
    assert codes == 0


async def test_hr_issues_code_and_unlinks_only_in_own_agency(chat, demo_app) -> None:
    hr = chat("5014")
    await link(hr, HR_PHONE)
    await hr.press("Meja HR")
    assert "Meja HR" in hr.text
    staff = chat("5015")
    await link(staff, STAFF_PHONE)
    await hr.press("Kelola akun")
    await hr.send(STAFF_NIP)
    named = {"telegram": "Telegram", "whatsapp": "WhatsApp"}[staff.channel.value]
    assert f"Akun terhubung: {named}" in hr.text, hr.text  # as people call it, not its code
    await hr.press(f"Putuskan {named}")
    assert "Ia harus menghubungkan akunnya lagi" in hr.text
    await hr.press("Ya, putuskan")
    assert "sudah diputus" in hr.text
    await staff.send("/menu")
    assert any("Hubungkan" in label for label in staff.labels)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Kelola akun")
    await hr.send("mega")
    await hr.press("Mega Hidayat")
    await hr.press("kode tautan")
    assert "Kode tautan untuk Mega Hidayat" in hr.text
    async with demo_app.sessions() as session:
        actions = {
            a
            for a in await session.scalars(
                select(AuditLog.action).where(AuditLog.actor.like("employee:%"))
            )
        }
    assert {"employee.view", "account.unlink", "link_code.create"} <= actions


async def test_duplicate_update_handled_once(chat, demo_app) -> None:
    inbound = Inbound(
        channel=Channel.TELEGRAM, chat_ref="5016", user_ref="5016", event_id="dup-1", text="/start"
    )
    first = await demo_app.dispatcher.handle(inbound)
    second = await demo_app.dispatcher.handle(inbound)
    assert first and second == []


async def test_huge_and_odd_unicode_messages_answered(chat) -> None:
    user = chat("5017")
    for text in [
        "x" * 4000,
        "😀" * 3000,
        "\u202e\u0000\u200b Ω≈ç√ \U0001f9d1\u200d\U0001f4bb",
        "'; DROP TABLE employee; --",
        "\n\n\n",
        "ا" * 5000,
    ]:
        await user.send(text)
        assert user.replies and user.replies[0].text, text[:10]
    await user.send("y" * 5000)
    assert "hanya 4096 karakter pertama yang dibaca" in user.text
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send("Ж" * 4000)
    assert "tidak dikenal" in user.text


async def test_deceased_employee_cannot_link(chat, demo_app) -> None:
    async with demo_app.sessions() as session, session.begin():
        employee = await session.scalar(select(Employee).where(Employee.nip == STAFF_NIP))
        employee.status = "deceased"
    user = chat("5018")
    await link(user, STAFF_PHONE)
    assert "tidak ada di data kepegawaian" in user.text


async def test_a_menu_longer_than_ten_entries_pages_instead_of_hiding_entries(demo_app) -> None:
    """A deployment that plugs in many capabilities still reaches every entry, help included."""
    extra = Router("extra")
    for n in range(12):
        extra.menu_entry(f"e{n}", "menu.help", roles={GUEST}, order=100 + n)
    dispatcher = Dispatcher(
        demo_app.sessions,
        demo_app.store,
        demo_app.settings,
        [*ROUTERS, extra],
        HOME,
    )
    user = Chat(SimpleNamespace(dispatcher=dispatcher), "5090")  # type: ignore[arg-type]
    await user.send("/menu")
    seen: list[str] = []
    for _ in range(3):
        assert len(user.payloads) <= 10
        seen += [p for p in user.payloads if not p.startswith("home:more")]
        await user.press("Lainnya")
    assert {f"extra:e{n}" for n in range(12)} <= set(seen)
    assert {"link:start", "home:help", "home:language"} <= set(seen)
