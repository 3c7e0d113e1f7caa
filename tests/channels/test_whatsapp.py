"""The WhatsApp channel: signed webhooks into the real adapter, pywa calling a fake Graph API."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import App
from bot.channels.whatsapp_render import untag
from bot.channels.whatsapp_sender import WhatsAppSender, template_text
from bot.channels.whatsapp_status import catch_up
from bot.delivery import Outcome, Status, enqueue
from bot.i18n import translator
from bot.messages import Choice, Reply
from storage.models import Account, Delivery, EarlyStatus, InboundEvent, WebhookDeadLetter
from tests.conftest import count_rows as count
from tests.fakes import fake_graph_api as g
from tests.fakes.chat import WhatsAppChat, WhatsAppHarness
from tests.helpers.privacy_helpers import known_users

STAFF_PHONE_WA = "6281200000001"  # demo roster row 1, 081200000001


# -- webhook ---------------------------------------------------------------------------------
async def test_verification_echoes_challenge_and_refuses_wrong_token(wa: WhatsAppHarness) -> None:
    path = wa.app.settings.whatsapp_webhook_path
    ok = await wa.client.get(
        path,
        params={"hub.mode": "subscribe", "hub.verify_token": g.VERIFY_TOKEN, "hub.challenge": "42"},
    )
    assert ok.status == 200 and await ok.text() == "42"
    bad = await wa.client.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "42"}
    )
    assert bad.status == 403
    assert (await wa.client.get(path)).status == 403
    no_challenge = await wa.client.get(
        path, params={"hub.mode": "subscribe", "hub.verify_token": g.VERIFY_TOKEN}
    )
    assert no_challenge.status == 400
    health = await wa.client.get("/healthz")
    assert health.status == 200 and (await health.json())["status"] == "ok"


async def test_bad_or_missing_signature_is_403_and_stores_nothing(wa: WhatsAppHarness) -> None:
    body = g.text("ID.9101", "/start")
    assert await wa.post(body, signature="sha256=" + "0" * 64) == 403
    assert await wa.post(body, signature="") == 403
    assert await wa.post(b"not json at all", signature="sha256=bad") == 403
    other = g.sign(g.dumps(body), secret="someone-elses-secret")
    assert await wa.post(body, signature=other) == 403
    assert await wa.post(b"x" * (2 * 1024 * 1024)) == 413
    await wa.webhook.idle()
    assert not wa.fake.sent()
    assert await count(wa.app, InboundEvent) == 0
    assert await count(wa.app, WebhookDeadLetter) == 0
    assert await count(wa.app, Account) == 0


async def test_unreadable_bodies_are_kept_and_logged_not_dropped(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    assert await wa.post(b"{broken json") == 200  # signed: kept, and not sent again
    assert await wa.post({"object": "page", "entry": []}) == 200
    odd = g.text("ID.9102", "hi")
    del odd["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"]
    assert await wa.post(odd) == 200
    await wa.webhook.idle()
    async with wa.app.sessions() as session:
        letters = list(await session.scalars(select(WebhookDeadLetter)))
    assert len(letters) == 3
    assert "{broken json" in letters[0].body and "not JSON" in letters[0].reason
    assert "ID.9102" in letters[2].body
    kept = [r for r in caplog.records if "kept for inspection" in r.getMessage()]
    assert len(kept) == 3 and not any(r.exc_info for r in kept)  # one line each


async def test_dead_letters_keep_the_exact_bytes_received(wa: WhatsAppHarness) -> None:
    no_metadata = g.text("ID.9130", "halo")
    del no_metadata["entry"][0]["changes"][0]["value"]["metadata"]
    spaced = json.dumps(no_metadata, indent=3).encode()  # not the spacing we would write
    bad_utf8 = b'{"object": "whatsapp_business_account", "entry": "\xff\xfe"}'
    not_json = b"\xff\xfe not json"
    assert await wa.post(spaced) == 200
    assert await wa.post(bad_utf8) == 200
    assert await wa.post(not_json) == 200
    await wa.webhook.idle()
    async with wa.app.sessions() as session:
        letters = list(await session.scalars(select(WebhookDeadLetter).order_by("id")))
    assert [letter.raw for letter in letters] == [spaced, bad_utf8, not_json]
    assert "ID.9130" in letters[0].body and "part 1" in letters[0].reason


async def test_dead_letters_cli_lists_and_shows_bytes(wa: WhatsAppHarness, cli) -> None:
    empty = await cli("whatsapp", "dead-letters")
    assert empty.code == 0 and "Tidak ada kiriman" in empty.out
    odd = g.text("ID.9131", "halo")
    del odd["entry"][0]["changes"][0]["value"]["metadata"]
    spaced = json.dumps(odd, indent=2, ensure_ascii=False).encode()
    assert await wa.post(spaced) == 200
    await wa.webhook.idle()
    listed = await cli("whatsapp", "dead-letters")
    assert listed.code == 0 and "#1 " in listed.out and f"{len(spaced)} bita" in listed.out
    shown = await cli("whatsapp", "dead-letters", "--show", "1")
    assert shown.code == 0 and shown.out.encode() == spaced
    missing = await cli("whatsapp", "dead-letters", "--show", "7")
    assert missing.code != 0 and "nomor 7" in missing.err


async def test_same_wamid_twice_with_different_bytes_gets_one_reply(wa: WhatsAppHarness) -> None:
    first = g.text("ID.9103", "/start", wamid="wamid.SAME-1")
    again = g.text("ID.9103", "/start", wamid="wamid.SAME-1")
    again["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"]["name"] = "Other bytes"
    assert g.dumps(first) != g.dumps(again)
    wa.fake.user_wrote("ID.9103")
    await known_users(wa.app, "ID.9103", channel="whatsapp")
    assert await wa.post(first) == 200
    assert await wa.post(again) == 200
    await wa.webhook.idle()
    assert len(wa.fake.sent("ID.9103")) == 1
    assert await count(wa.app, InboundEvent) == 1


async def test_one_body_with_several_messages_answers_each(wa: WhatsAppHarness) -> None:
    first, second = g.text("ID.9170", "/start"), g.text("ID.9171", "/bantuan")
    first["entry"][0]["changes"][0]["value"]["contacts"].append(
        second["entry"][0]["changes"][0]["value"]["contacts"][0]
    )
    first["entry"][0]["changes"][0]["value"]["messages"].append(
        second["entry"][0]["changes"][0]["value"]["messages"][0]
    )
    wa.fake.user_wrote("ID.9170")
    wa.fake.user_wrote("ID.9171")
    assert await wa.post(first) == 200
    await wa.webhook.idle()
    assert wa.fake.sent("ID.9170") and wa.fake.sent("ID.9171")


async def test_old_claims_are_pruned_recent_ones_kept(wa: WhatsAppHarness) -> None:
    long_ago = datetime.now(UTC) - timedelta(seconds=wa.app.settings.dedup_ttl_seconds + 60)
    async with wa.app.sessions() as session, session.begin():
        session.add(InboundEvent(event_id="whatsapp:wamid.OLD", received_at=long_ago))
    wa.fake.user_wrote("ID.9172")
    await wa.post(g.text("ID.9172", "/start", wamid="wamid.NEW"))
    await wa.webhook.idle()
    assert await wa.webhook.prune() == 1
    async with wa.app.sessions() as session:
        left = list(await session.scalars(select(InboundEvent.event_id)))
    assert left == ["whatsapp:wamid.NEW"]


async def test_reply_marks_read_with_typing(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9104", wa)
    await user.send("/start")
    reads = [c for c in wa.fake.calls if c.method == "read"]
    assert reads and reads[-1].params.get("typing_indicator") == {"type": "text"}
    assert "Selamat datang" in user.text


async def test_fake_graph_api_enforces_limits(wa: WhatsAppHarness) -> None:
    from pywa.types import Button
    from pywa_async.errors import WhatsAppError

    wa.fake.user_wrote("ID.9105")
    buttons = [Button(title=f"B{i}", callback_data=f"b{i}") for i in range(4)]
    with pytest.raises(WhatsAppError):
        await wa.wa.send_message("ID.9105", "too many", buttons=buttons)
    with pytest.raises(WhatsAppError):
        await wa.wa.send_message("ID.9105", "long", buttons=[Button("x" * 21, "b")])
    with pytest.raises(WhatsAppError) as outside:
        await wa.wa.send_message("ID.9106", "never wrote")
    assert outside.value.code == 131047


async def test_menus_use_buttons_or_lists_and_typed_numbers_work(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9107", wa)
    await user.send("/start")
    [menu] = [c for c in wa.fake.sent(user.user_ref) if c.params["type"] == "interactive"]
    assert menu.params["interactive"]["type"] in ("button", "list")
    await user.send("/bahasa")
    assert "English" in user.labels
    number = next(i for i, label in enumerate(user.labels, 1) if label == "English")
    await user.send(str(number))
    assert "Language changed" in user.text
    # The adapter's own words follow the reply's language at once (here the list button).
    last = [c for c in wa.fake.sent(user.user_ref) if c.params["type"] == "interactive"][-1]
    interactive = last.params["interactive"]
    assert interactive["type"] == "list" and interactive["action"]["button"] == "See options"
    assert interactive["action"]["sections"][0]["rows"][0]["description"] == "or type 1"


async def test_stale_button_gets_expired_notice_and_current_menu(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9108", wa)
    await user.send("/start")
    old = dict(user._buttons)
    await user.send("/bahasa")
    raw_id, kind = next(v for k, v in old.items() if "Hubungkan" in k)
    await user.tap(raw_id, "Hubungkan", kind)
    assert "kedaluwarsa" in user.text
    assert "English" in user.labels  # the current menu (language choice) again, not a dead end
    await user.press("English")
    assert "kedaluwarsa" not in user.text


async def test_unknown_or_old_tap_gets_one_notice_and_the_menu_shown_last(
    wa: WhatsAppHarness,
) -> None:
    user = WhatsAppChat(wa.app, "9120", wa)
    await user.send("/start")
    old = dict(user._buttons)
    await user.send("/bahasa")
    seq = untag(next(iter(user._buttons.values()))[0])[0]
    # A choice id this menu never offered, carrying the current menu's mark.
    await user.tap(f"{seq}~guidance:nosuch", "?", "list")
    assert user.text.count("kedaluwarsa") == 1
    assert "Pilih bahasa:" in user.text and "English" in user.labels
    assert "Silakan pilih layanan:" not in user.text  # the menu shown last, not the main one
    raw_id, kind = next(v for k, v in old.items() if "Hubungkan" in k)
    await user.tap(raw_id, "Hubungkan", kind)
    assert user.text.count("kedaluwarsa") == 1 and "tidak berlaku" not in user.text
    assert "Pilih bahasa:" in user.text and "English" in user.labels


async def test_stale_notice_from_the_core_is_not_repeated_with_the_menu(
    wa: WhatsAppHarness,
) -> None:
    user = WhatsAppChat(wa.app, "9121", wa)
    await user.send("/start")
    old = dict(user._buttons)
    await user.action("nosuch:thing")  # unmarked: the core answers "that button expired"
    assert "tidak berlaku" in user.text
    raw_id, kind = next(v for k, v in old.items() if "Hubungkan" in k)
    await user.tap(raw_id, "Hubungkan", kind)
    assert user.text == "Menu itu sudah kedaluwarsa. Ini menu terbaru:\n\nSilakan pilih layanan:"
    assert user.labels


async def test_link_screen_keeps_the_way_back_last(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9122", wa, wa_id=STAFF_PHONE_WA)
    await user.send("/hubungkan")
    titles = list(user._buttons)
    assert titles[-1] == "⬅ Menu utama"
    assert any("Bagikan nomor" in title for title in titles[:-1])
    await user.send("0")  # the way back keeps its fixed number 0 on every screen
    assert "Silakan pilih layanan:" in user.text


async def test_list_rows_and_section_say_nothing_twice(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9123", wa)
    await user.send("/start")
    [section] = wa.fake.sent(user.user_ref)[-1].params["interactive"]["action"]["sections"]
    assert "title" not in section  # the list's button already says "Lihat pilihan"
    assert section["rows"][0]["description"] == "atau ketik 1"
    scores = [Choice(f"rating:score:{n}", str(n)) for n in range(1, 6)]
    await wa.webhook.adapter.send(
        user.user_ref, [Reply("Nilai?", [*scores, Choice("x:y", "Lewati")])]
    )
    rows = wa.fake.sent(user.user_ref)[-1].params["interactive"]["action"]["sections"][0]["rows"]
    assert [r.get("description") for r in rows] == [None] * 5 + ["atau ketik 6"]


async def test_unknown_status_is_one_log_line_not_a_warning(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert await wa.post(g.status("wamid.X", "teleported", "ID.9124")) == 200
        await wa.webhook.idle()
    assert not [w for w in caught if "pywa" in str(w.message) or "Unknown" in str(w.message)]
    [record] = [r for r in caplog.records if r.getMessage() == "WhatsApp status ignored"]
    assert record.status == "teleported"  # type: ignore[attr-defined]


async def test_media_outside_a_file_step_is_not_fetched(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9125", wa)
    await user.send("/bahasa")
    image = {"id": "no-such-media", "mime_type": "image/jpeg", "sha256": "x"}
    await user.post(g.message(user.bsuid, user.wa_id, type="image", image=image))
    assert "belum bisa saya baca" in user.text and user.labels  # no "send it again"
    assert not [c for c in wa.fake.calls if c.method in ("media_url", "download")]


async def test_media_is_fetched_where_a_step_takes_a_file_and_only_there(
    wa: WhatsAppHarness,
) -> None:
    hr = WhatsAppChat(wa.app, "9127", wa, wa_id="6281200000034")  # demo row 34: HR
    await hr.send("/hubungkan")
    await hr.press("Bagikan nomor")
    await hr.press("Ya, hubungkan")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")  # this step takes a photo or a PDF
    sticker = {"id": wa.fake.add_media(b"RIFF webp", "image/webp"), "mime_type": "image/webp"}
    await hr.post(g.message(hr.bsuid, hr.wa_id, type="sticker", sticker=sticker))
    assert "kirim ulang foto atau PDF" in hr.text  # a sticker is not a file: not fetched
    assert not [c for c in wa.fake.calls if c.method in ("media_url", "download")]
    gone = {"id": "no-such-media", "mime_type": "application/pdf", "filename": "a.pdf"}
    await hr.post(g.message(hr.bsuid, hr.wa_id, type="document", document=gone))
    assert "kirim ulang foto atau PDF" in hr.text  # asked again, still in the step
    pdf = wa.fake.add_media(b"%PDF-1.4 jadwal", "application/pdf", "jadwal.pdf")
    document = {"id": pdf, "mime_type": "application/pdf", "filename": "jadwal.pdf"}
    await hr.post(g.message(hr.bsuid, hr.wa_id, type="document", document=document))
    assert "Lampiran diterima" in hr.text
    assert [c.params["id"] for c in wa.fake.calls if c.method == "download"] == [pdf]


# -- identity --------------------------------------------------------------------------------
async def test_visible_number_matching_roster_links_after_confirming(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9109", wa, wa_id=STAFF_PHONE_WA)
    await user.send("/hubungkan")
    assert user.replies[-1].request_phone  # "use this number" is offered, nothing linked yet
    async with wa.app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_ref == user.user_ref))
    assert account is not None and account.employee_id is None
    await user.press("Bagikan nomor")
    assert "0812-0000-0001" in user.text and "Ya, hubungkan" in user.labels  # asked first
    async with wa.app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_ref == user.user_ref))
    assert account is not None and account.employee_id is None
    await user.press("Ya, hubungkan")
    assert "berhasil terhubung" in user.text
    assert user.user_ref == "ID.9109"  # keyed on the business-scoped user id, not the phone


async def test_hidden_number_falls_back_to_hr_code(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9110", wa, wa_id=None)
    await user.send("/hubungkan")
    await user.press("Bagikan nomor")
    assert "tersembunyi" in user.text and "kode" in user.text.lower()
    # A card cannot prove it is theirs either: the answer is the hidden number, not "a card
    # of someone else", and the way on is the HR code.
    await user.share_contact("081200000001")
    assert "tersembunyi" in user.text and "kontak Anda sendiri" not in user.text
    assert "Ketik kode tautan" in user.text


async def test_family_without_roster_match_is_served(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9111", wa, wa_id="6285799990000")
    await user.send("/start")
    assert "Selamat datang" in user.text and user.labels


# -- statuses --------------------------------------------------------------------------------
async def _delivery(app: App, user_ref: str, platform_id: str | None, status: str) -> int:
    async with app.sessions() as session, session.begin():
        account = Account(agency_id=1, channel="whatsapp", user_ref=user_ref, chat_ref=user_ref)
        session.add(account)
        await session.flush()
        delivery = await enqueue(session, account, "whatsapp.stale", source="test")
        assert delivery is not None
        delivery.platform_id, delivery.status = platform_id, status
        return delivery.id


async def _status_of(app: App, delivery_id: int) -> str:
    async with app.sessions() as session:
        delivery = await session.get(Delivery, delivery_id)
        assert delivery is not None
        return delivery.status


async def test_statuses_out_of_order_only_move_forward(wa: WhatsAppHarness) -> None:
    did = await _delivery(wa.app, "ID.9120", "wamid.OUT-A", Status.SENT)
    for state in ("read", "delivered", "sent", "failed"):
        assert await wa.post(g.status("wamid.OUT-A", state, "ID.9120")) == 200
        await wa.webhook.idle()
    assert await _status_of(wa.app, did) == Status.READ


async def test_status_before_its_send_is_recorded_is_applied_later(wa: WhatsAppHarness) -> None:
    await wa.post(g.status("wamid.OUT-B", "delivered", "ID.9121", tracker="delivery:1"))
    await wa.webhook.idle()
    did = await _delivery(wa.app, "ID.9121", None, Status.SENDING)
    async with wa.app.sessions() as session, session.begin():
        delivery = await session.get(Delivery, did)
        assert delivery is not None
        delivery.platform_id, delivery.status = "wamid.OUT-B", Status.SENT  # what a drain records
        await catch_up(session, delivery)
    assert await _status_of(wa.app, did) == Status.DELIVERED
    # Without the drain's help, the next callback for any message settles it too.
    await wa.post(g.status("wamid.OUT-C", "read", "ID.9122", tracker="delivery:2"))
    await wa.webhook.idle()
    late = await _delivery(wa.app, "ID.9122", "wamid.OUT-C", Status.SENT)
    await wa.post(g.status("wamid.OUT-X", "sent", "ID.9122"))
    await wa.webhook.idle()
    assert await _status_of(wa.app, late) == Status.READ
    # The callbacks of direct replies (no tracker, no record) are not kept at all.
    await wa.post(g.status("wamid.OUT-R", "read", "ID.9122"))
    await wa.webhook.idle()
    assert await count(wa.app, EarlyStatus) == 0


async def test_failed_status_marks_unreachable_user(wa: WhatsAppHarness) -> None:
    did = await _delivery(wa.app, "ID.9123", "wamid.OUT-D", Status.SENT)
    await wa.post(g.status("wamid.OUT-D", "failed", "ID.9123", error=131026))
    await wa.webhook.idle()
    assert await _status_of(wa.app, did) == Status.UNREACHABLE


# -- outbound: 24 h window, templates, error codes -----------------------------------------
async def _account(app: App, user_ref: str, last_inbound: datetime | None) -> Account:
    async with app.sessions() as session, session.begin():
        account = Account(
            agency_id=1,
            channel="whatsapp",
            user_ref=user_ref,
            chat_ref=user_ref,
            last_inbound_at=last_inbound,
        )
        session.add(account)
    return account


async def test_outside_window_gets_template_inside_gets_text(wa: WhatsAppHarness) -> None:
    sender = WhatsAppSender(wa.webhook.adapter, wa.app.settings)
    assert sender.limits.per_second == 80 and sender.limits.per_chat_interval == 6
    now = datetime.now(UTC)
    reply = Reply("Pengumuman:\nRapat jam 9.\tBawa laptop.")
    inside = await _account(wa.app, "ID.9130", now - timedelta(hours=2))
    wa.fake.user_wrote("ID.9130", ago=2 * 3600)
    result = await sender.send_outbound(inside, Delivery(), reply)
    assert result.outcome == Outcome.SENT and result.platform_id
    assert wa.fake.sent("ID.9130")[-1].params["type"] == "text"
    outside = await _account(wa.app, "ID.9131", now - timedelta(hours=30))
    wa.fake.user_wrote("ID.9131", ago=30 * 3600)
    result = await sender.send_outbound(outside, Delivery(id=77), reply)
    assert result.outcome == Outcome.SENT
    sent = wa.fake.sent("ID.9131")[-1].params
    assert sent["type"] == "template" and sent["template"]["language"]["code"] == "id"
    assert sent["biz_opaque_callback_data"] == "delivery:77"  # its statuses find the record
    param = sent["template"]["components"][0]["parameters"][0]["text"]
    assert param == template_text(reply.text) and "Rapat jam 9." in param and "\n" not in param


async def test_window_closed_early_falls_back_to_template(wa: WhatsAppHarness) -> None:
    sender = WhatsAppSender(wa.webhook.adapter, wa.app.settings)
    account = await _account(wa.app, "ID.9132", datetime.now(UTC) - timedelta(hours=1))
    # Our record says one hour ago; the platform says the window is closed (131047).
    result = await sender.send_outbound(account, Delivery(), Reply("Halo"))
    assert result.outcome == Outcome.SENT
    kinds = [c.params["type"] for c in wa.fake.calls if c.method == "messages"]
    assert kinds[-2:] == ["text", "template"]


@pytest.mark.parametrize(
    ("code", "status", "outcome"),
    [
        (130429, 400, Outcome.RETRY),
        (131056, 400, Outcome.RETRY),
        (131048, 400, Outcome.RETRY),
        (131026, 400, Outcome.UNREACHABLE),
        (131050, 400, Outcome.UNREACHABLE),
        (131049, 400, Outcome.UNREACHABLE),
        (100, 400, Outcome.FAILED),
        (1, 500, Outcome.RETRY),
    ],
)
async def test_error_codes_map_onto_outcomes(
    wa: WhatsAppHarness, code: int, status: int, outcome: Outcome
) -> None:
    sender = WhatsAppSender(wa.webhook.adapter, wa.app.settings)
    account = await _account(wa.app, "ID.9140", datetime.now(UTC))
    wa.fake.user_wrote("ID.9140")
    wa.fake.fail_next(code, status)
    result = await sender.send_outbound(account, Delivery(), Reply("Halo"))
    assert result.outcome == outcome, result
    if outcome == Outcome.RETRY:
        assert result.retry_after and result.retry_after > 0


async def test_long_menu_pages_and_page_taps_show_the_rest(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9150", wa)
    wa.fake.user_wrote(user.user_ref)
    choices = [Choice(f"home:lang:x{i}", f"Pilihan {i}") for i in range(10)]
    await wa.webhook.adapter.send(user.user_ref, [Reply("Daftar", choices, request_phone="Nomor")])
    user.replies = user._read(wa.fake.calls)
    assert len(user.labels) == 10 and "Pilihan 8" in user.labels and "Lainnya" in user.labels[-1]
    await user.press("Lainnya")
    assert user.labels[0] == "Pilihan 9" and user.replies[0].request_phone == "Nomor"
    await user.send("11")  # numbers run on across pages: the 11th option is "use my number"
    assert "Hubungkan akun dengan nomor WhatsApp Anda" in user.text
    await user.press("Ya")
    assert "tidak ada di data kepegawaian" in user.text  # a number not in the roster
    await user.action("wa:page:abc")  # a forged page id is answered, not a crash
    assert user.replies and user.labels


async def test_abdi_serve_without_channels_says_what_to_set(cli) -> None:
    result = await cli("serve")
    assert result.code == 2 and "WHATSAPP_TOKEN" in result.err


async def test_abdi_serve_has_both_webhooks_on_one_server(demo_app: App) -> None:
    import asyncio
    import socket

    from aiohttp import ClientSession

    from bot.channels import serving
    from tests.fakes.fake_bot_api import TOKEN as TG_TOKEN
    from tests.fakes.fake_bot_api import FakeBotAPI, message_update

    graph, bot_api = g.FakeGraphAPI(), FakeBotAPI()
    await known_users(demo_app, "ID.9160", channel="whatsapp")
    await known_users(demo_app, 61)
    await graph.start()
    await bot_api.start()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    demo_app.settings = demo_app.settings.model_copy(
        update={
            "webhook_host": "127.0.0.1",
            "webhook_port": port,
            "telegram_bot_token": SecretStr(TG_TOKEN),
            "telegram_api_base": bot_api.base,
            "telegram_webhook_secret": SecretStr("tg-secret"),
            "whatsapp_token": SecretStr(g.TOKEN),
            "whatsapp_phone_number_id": g.PHONE_ID,
            "whatsapp_app_secret": SecretStr(g.APP_SECRET),
            "whatsapp_verify_token": SecretStr(g.VERIFY_TOKEN),
            "whatsapp_api_base": graph.base,
        }
    )
    stop = asyncio.Event()
    server = asyncio.create_task(serving.serve_webhooks(demo_app, translator("id"), stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with ClientSession() as http:
            for _ in range(50):  # until the server listens
                try:
                    async with http.get(f"{base}/healthz") as health:
                        assert health.status == 200
                        break
                except OSError:
                    await asyncio.sleep(0.1)
            params = {
                "hub.mode": "subscribe",
                "hub.verify_token": g.VERIFY_TOKEN,
                "hub.challenge": "7",
            }
            async with http.get(f"{base}/whatsapp/webhook", params=params) as verify:
                assert await verify.text() == "7"
            body = g.dumps(g.text("ID.9160", "/start"))
            graph.user_wrote("ID.9160")
            headers = {"X-Hub-Signature-256": g.sign(body)}
            async with http.post(f"{base}/whatsapp/webhook", data=body, headers=headers) as r:
                assert r.status == 200
            headers = {"X-Telegram-Bot-Api-Secret-Token": "tg-secret"}
            update = {"update_id": 1, **message_update(61, "/start")}
            async with http.post(f"{base}/telegram/webhook", json=update, headers=headers) as r:
                assert r.status == 200
            await graph.wait_sent(1)
            await bot_api.wait_calls("sendMessage", 1)
    finally:
        stop.set()
        await asyncio.wait_for(server, 30)
        await graph.stop()
        await bot_api.stop()
    assert "Selamat datang" in graph.sent("ID.9160")[0].params["interactive"]["body"]["text"]
