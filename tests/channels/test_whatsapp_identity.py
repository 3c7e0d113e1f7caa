"""Who a WhatsApp user is: both identity shapes, numbers that prove something (only the envelope's,
confirmed), contact cards that prove nothing, and system messages that move or hold an account."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.services import identity
from storage.models import Account, AuditLog, InboundEvent, WebhookDeadLetter
from tests.conftest import count_rows as count
from tests.fakes import fake_graph_api as g
from tests.fakes.chat import WhatsAppChat, WhatsAppHarness
from tests.helpers.four_in_one_helpers import officer_case_code

STAFF_PHONE, STAFF_WA = "081200000001", "6281200000001"  # demo roster row 1
HR_PHONE, HR_WA = "081200000034", "6281200000034"  # row 34: HR
STAFF_NIP = "199803132020012001"


async def accounts(app: App) -> list[Account]:
    async with app.sessions() as session:
        return list(
            await session.scalars(
                select(Account).where(Account.channel == "whatsapp").order_by(Account.id)
            )
        )


async def link_own_number(user: WhatsAppChat) -> None:
    await user.send("/hubungkan")
    await user.press("Bagikan nomor")
    await user.press("Ya, hubungkan")
    assert "berhasil terhubung" in user.text, user.text


# -- D9: both identity shapes ------------------------------------------------------------------
async def test_messages_without_user_ids_are_served(wa: WhatsAppHarness) -> None:
    old = WhatsAppChat(wa.app, "9201", wa, bsuid=False)  # contacts carry wa_id only
    await old.send("/start")
    assert "Selamat datang" in old.text and old.labels
    assert wa.fake.sent(old.wa_id)  # answered on the number: there is no user id
    hidden = WhatsAppChat(wa.app, "9202", wa, wa_id=None)  # user id only, number hidden
    await hidden.send("/start")
    assert "Selamat datang" in hidden.text
    [first, second] = await accounts(wa.app)
    assert (first.user_ref, first.wa_id, first.bsuid) == (old.wa_id, old.wa_id, None)
    assert (second.user_ref, second.bsuid, second.wa_id) == (hidden.bsuid, hidden.bsuid, None)
    assert await count(wa.app, WebhookDeadLetter) == 0


async def test_a_user_who_switches_shape_keeps_link_language_and_state(wa: WhatsAppHarness) -> None:
    async with wa.app.sessions() as session, session.begin():
        employee = await identity.employee_by_nip(session, 1, STAFF_NIP)
        assert employee is not None
        code, _ = await identity.create_link_code(session, employee, timedelta(hours=1), "test")
    user = WhatsAppChat(wa.app, "9203", wa, bsuid=False)
    await user.send("/bahasa")
    await user.press("English")
    await user.send("/hubungkan")
    await user.press("code")  # the step now waits for a code (conversation state)
    user.writes_as(bsuid="ID.9203")  # the same person, now with a business-scoped id as well
    await user.send(code)
    assert "successfully linked" in user.text.lower() or "linked" in user.text.lower()
    user.writes_as(wa_id=None)  # and then with the user id alone (number hidden)
    await user.send("/menu")
    assert "Please choose" in user.text and any("profile" in x.lower() for x in user.labels)
    user.writes_as(bsuid=None, wa_id=user.user_ref)  # and back to the number alone
    await user.press("profile")
    assert STAFF_NIP in user.text
    [account] = await accounts(wa.app)  # one account all along, keyed as it began
    assert account.user_ref == user.user_ref and account.employee_id == employee.id
    assert (account.bsuid, account.wa_id, account.locale) == ("ID.9203", user.user_ref, "en")


async def test_an_account_created_by_user_id_is_found_by_number_once_seen_together(
    wa: WhatsAppHarness,
) -> None:
    user = WhatsAppChat(wa.app, "9204", wa, wa_id=None)
    await user.send("/start")
    user.writes_as(wa_id="628990009204")
    await user.send("/bahasa")  # both ids: the number is recorded on the account
    user.writes_as(bsuid=None)
    await user.press("English")
    assert "Language changed" in user.text
    [account] = await accounts(wa.app)
    assert (account.user_ref, account.wa_id, account.locale) == (
        user.user_ref,
        "628990009204",
        "en",
    )


async def test_a_number_given_up_is_not_the_old_owners(wa: WhatsAppHarness) -> None:
    first = WhatsAppChat(wa.app, "9205", wa, wa_id=STAFF_WA)
    await link_own_number(first)
    # Months later the number belongs to someone else, with a user id of their own.
    second = WhatsAppChat(wa.app, "9206", wa, wa_id=STAFF_WA)
    await second.send("/menu")
    assert not any("Profil" in x for x in second.labels)  # a guest, not the staff member
    second.writes_as(bsuid=None)  # the number alone: still the new owner's account
    await second.send("/menu")
    assert not any("Profil" in x for x in second.labels)
    old, new = await accounts(wa.app)
    assert old.employee_id is not None and old.wa_id is None  # given up
    assert new.employee_id is None and new.wa_id == STAFF_WA


# -- A2: only the envelope's number, confirmed ---------------------------------------------------
async def test_a_contact_card_never_links(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9207", wa)  # writes from a number not in the roster
    await user.send("/hubungkan")
    # The card carries the sender's own wa_id and a staff member's phone.
    await user.card(STAFF_PHONE, user.wa_id)
    assert "kontak Anda sendiri" in user.text and user.replies[-1].request_phone
    await user.card(STAFF_PHONE, STAFF_WA)  # the staff member's own wa_id: still a claim
    assert "kontak Anda sendiri" in user.text
    await user.card("+62 812-0000-0001", None)
    assert "kontak Anda sendiri" in user.text
    assert all(a.employee_id is None for a in await accounts(wa.app))


async def test_the_own_number_links_only_after_the_user_confirms(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9208", wa, wa_id=STAFF_WA)
    await user.send("/hubungkan")
    await user.press("Bagikan nomor")
    assert "0812-0000-0001" in user.text and user.labels == ["Ya, hubungkan", "Tidak"]
    await user.press("Tidak")
    assert "bagikan nomor HP Anda" in user.text  # the linking screen again
    assert all(a.employee_id is None for a in await accounts(wa.app))
    await user.card(STAFF_PHONE)  # their own number on a card: the same question
    assert "0812-0000-0001" in user.text
    await user.send("ya")
    assert "berhasil terhubung" in user.text


async def test_yes_counts_for_the_number_it_is_sent_from(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9209", wa, wa_id=STAFF_WA)
    await user.send("/hubungkan")
    await user.press("Bagikan nomor")
    user.writes_as(wa_id="628990009209")  # the answer comes from another number
    await user.press("Ya, hubungkan")
    assert "0899-0009-209" in user.text and "berhasil" not in user.text  # asked again
    assert all(a.employee_id is None for a in await accounts(wa.app))


async def test_without_a_visible_number_the_hr_code_is_offered(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9210", wa, wa_id=None)
    await user.send("/hubungkan")
    await user.press("Bagikan nomor")
    assert "tersembunyi" in user.text and "Ketik kode tautan" in user.text
    await user.card(STAFF_PHONE, STAFF_WA)
    assert "tersembunyi" in user.text
    assert all(a.employee_id is None for a in await accounts(wa.app))


async def test_a_step_that_asks_for_a_phone_takes_a_card_as_the_phone_only(
    wa: WhatsAppHarness, cli
) -> None:
    code = await officer_case_code(cli)
    stranger = WhatsAppChat(wa.app, "9211", wa)
    await stranger.send("/lacak " + code)
    await stranger.press("Kirimi saya kabar")
    await stranger.card("0813-7777-8888", stranger.wa_id)  # the family's phone, on a card
    assert "tidak cocok" in stranger.text
    family = WhatsAppChat(wa.app, "9212", wa, wa_id="6281377778888")
    await family.send("/lacak " + code)
    await family.press("Kirimi saya kabar")
    await family.press("Bagikan nomor")  # the envelope's number: the proof
    assert "cocok dengan catatan petugas" in family.text


# -- D10: system messages ----------------------------------------------------------------------
async def test_a_number_change_moves_the_account(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9213", wa, wa_id=STAFF_WA, bsuid=False)
    await link_own_number(user)
    await user.send("/hubungkan")  # "already linked": a menu is on screen
    assert (
        await wa.post(g.system(STAFF_WA, "user_changed_number", {"wa_id": "628990009213"})) == 200
    )
    user.writes_as(wa_id="628990009213")
    await user.press("Profil saya")  # the old menu still works from the new number
    assert STAFF_NIP in user.text
    assert wa.fake.sent("628990009213")
    [account] = await accounts(wa.app)
    assert (account.wa_id, account.chat_ref) == ("628990009213", "628990009213")
    assert account.employee_id is not None and account.user_ref == STAFF_WA


async def test_number_change_with_a_new_user_id_and_the_legacy_shape(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9214", wa)
    await user.send("/start")
    moved = g.system(
        user.wa_id, "user_changed_number", {"wa_id": "628990019214", "user_id": "ID.77"}
    )
    assert await wa.post(moved) == 200
    [account] = await accounts(wa.app)
    assert (account.wa_id, account.bsuid, account.chat_ref) == ("628990019214", "ID.77", "ID.77")
    legacy = g.system("628990019214", "user_changed_number", {"customer": "628990019214"})
    legacy["entry"][0]["changes"][0]["value"]["messages"][0]["system"]["wa_id"] = "628990029214"
    assert await wa.post(legacy) == 200
    [account] = await accounts(wa.app)
    assert account.wa_id == "628990029214"


async def test_a_number_change_finds_an_account_known_by_its_user_id(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9220", wa, wa_id=None)  # we never saw their number
    await user.send("/start")
    fields = {"wa_id": "628990009220", "user_id": user.bsuid}
    assert await wa.post(g.system("628990019220", "user_changed_number", fields)) == 200
    [account] = await accounts(wa.app)
    assert (account.wa_id, account.bsuid, account.chat_ref) == (
        "628990009220",
        user.bsuid,
        user.bsuid,
    )


async def test_a_user_id_change_moves_the_account(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9215", wa, wa_id=None)
    await user.send("/bahasa")
    await user.press("English")
    change = g.system(
        None, "user_changed_user_id", {"previous_user_id": user.bsuid, "user_id": "ID.88"}
    )
    assert await wa.post(change) == 200
    user.writes_as(bsuid="ID.88")
    await user.send("/menu")
    assert "Please choose" in user.text
    update = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": g.WABA_ID,
                "changes": [
                    {
                        "field": "user_id_update",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": g.PHONE_ID},
                            "user_id_update": [
                                {"user_id": {"previous": "ID.88", "current": "ID.99"}}
                            ],
                        },
                    }
                ],
            }
        ],
    }
    assert await wa.post(update) == 200
    [account] = await accounts(wa.app)
    assert (account.bsuid, account.chat_ref, account.locale) == ("ID.99", "ID.99", "en")


async def test_an_identity_change_holds_hr_until_the_user_confirms_again(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    hr = WhatsAppChat(wa.app, "9216", wa, wa_id=HR_WA)
    await link_own_number(hr)
    assert any("Meja HR" in x for x in hr.labels)
    identity_hash = {"acknowledged": True, "created_timestamp": "1697044706", "hash": "xyz"}
    changed = g.system(HR_WA, "customer_identity_changed", identity=identity_hash)
    changed["entry"][0]["changes"][0]["value"]["contacts"] = [g.contact(hr.bsuid, HR_WA)]
    mark = len(wa.fake.calls)
    assert await wa.post(changed) == 200
    told = [c for c in wa.fake.calls[mark:] if c.method == "messages"]
    assert len(told) == 1 and "identitas akun WhatsApp Anda berubah" in str(told[0].params)
    assert await wa.post(changed) == 200  # redelivered: not told twice
    assert len([c for c in wa.fake.calls[mark:] if c.method == "messages"]) == 1
    await hr.send("/menu")
    assert "dikonfirmasi ulang" in hr.text
    assert not any("Meja HR" in x or "Profil" in x for x in hr.labels)
    await hr.action("broadcast:start")
    assert "bukan untuk akun Anda" in hr.text
    [account] = await accounts(wa.app)
    assert account.employee_id is None and account.reconfirm_employee_id is not None
    await link_own_number(hr)  # confirmed again with their own number
    assert any("Meja HR" in x for x in hr.labels)
    await hr.send("/menu")
    assert "dikonfirmasi ulang" not in hr.text
    [account] = await accounts(wa.app)
    assert account.reconfirm_employee_id is None and account.employee_id is not None
    async with wa.app.sessions() as session:
        actions = list(await session.scalars(select(AuditLog.action)))
    assert "account.identity_changed" in actions
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_identity_change_is_confirmed_again_with_an_hr_code(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9217", wa, wa_id=STAFF_WA)
    await link_own_number(user)
    changed = g.system(STAFF_WA, "customer_identity_changed", with_contact=True, user_id=user.bsuid)
    changed["entry"][0]["changes"][0]["value"]["messages"][0]["identity"] = {
        "acknowledged": True,
        "created_timestamp": "1",
        "hash": "h",
    }
    assert await wa.post(changed) == 200
    async with wa.app.sessions() as session, session.begin():
        employee = await identity.employee_by_nip(session, 1, STAFF_NIP)
        assert employee is not None
        code, _ = await identity.create_link_code(session, employee, timedelta(hours=1), "test")
    await user.send("/hubungkan")
    await user.press("kode")
    await user.send(code)
    assert "berhasil terhubung" in user.text
    [account] = await accounts(wa.app)
    assert account.reconfirm_employee_id is None and account.employee_id == employee.id


# -- D11: what gets no answer, and what gets one short notice -----------------------------------
async def test_edits_deletions_reactions_and_groups_get_no_answer(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = WhatsAppChat(wa.app, "9218", wa)
    await user.send("/start")
    edit = {"original_message_id": "wamid.X", "message": {"type": "text", "text": {"body": "b"}}}
    bodies = [
        g.message(user.bsuid, user.wa_id, type="edit", edit=edit),
        g.message(user.bsuid, user.wa_id, type="revoke", revoke={"original_message_id": "w"}),
        g.message(
            user.bsuid, user.wa_id, type="reaction", reaction={"message_id": "w", "emoji": "👍"}
        ),
        g.text(user.bsuid, "halo semua", user.wa_id),
    ]
    bodies[-1]["entry"][0]["changes"][0]["value"]["messages"][0]["group_id"] = "grp-1"
    for body in bodies:
        assert await user.post(body) == []
    logged = {r.getMessage() for r in caplog.records if r.levelno == logging.INFO}
    assert {
        "WhatsApp edit ignored",
        "WhatsApp revoke ignored",
        "WhatsApp reaction ignored",
    } <= logged
    assert "WhatsApp group message ignored" in logged
    assert await count(wa.app, WebhookDeadLetter) == 0


async def test_an_unsupported_message_gets_one_short_notice(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9219", wa)
    body = g.message(user.bsuid, user.wa_id, type="unsupported", unsupported={"type": "poll"})
    body["entry"][0]["changes"][0]["value"]["messages"][0]["errors"] = [{"code": 131051}]
    await user.post(body)
    assert [r.text for r in user.replies] == [
        "Maaf, WhatsApp tidak bisa meneruskan pesan itu kepada kami (jenisnya belum didukung). "
        "Silakan kirim teks, foto, atau PDF."
    ]
    assert await user.post(body) == []  # redelivered: not twice
    assert await count(wa.app, InboundEvent) == 1
