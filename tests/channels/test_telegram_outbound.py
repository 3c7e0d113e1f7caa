"""The Telegram sender against the fake Bot API: plain texts go as pre-rendered JSON, the rest
through aiogram, and every answer maps onto the same outcome either way."""

from __future__ import annotations

import pytest

from bot.messages import Attachment, Choice, Reply
from bot.senders import Outcome
from storage.models import Account, Delivery
from tests.helpers.delivery_helpers import telegram_sender

CHAT = 4242


def account() -> Account:
    return Account(channel="telegram", user_ref=str(CHAT), chat_ref=str(CHAT))


def note() -> Delivery:
    return Delivery(kind="notification", source="test", message_key="-", params={})


async def test_a_plain_text_with_a_button_arrives_as_telegram_would_take_it(
    demo_app, bot_api
) -> None:
    sender = telegram_sender(demo_app, bot_api)
    reply = Reply("📢 Apel pagi jam 07.30.", [Choice("ack:7", "Sudah dibaca")])
    result = await sender.send_outbound(account(), note(), reply)
    await sender.close()
    assert result.outcome == Outcome.SENT
    (call,) = bot_api.accepted
    assert call.method == "sendMessage" and call.params["chat_id"] == CHAT
    assert call.params["text"] == "📢 Apel pagi jam 07.30."
    keyboard = call.params["reply_markup"]["inline_keyboard"]
    assert keyboard == [[{"text": "Sudah dibaca", "callback_data": "ack:7"}]]
    assert result.platform_id is not None and int(result.platform_id) >= 1000


async def test_long_texts_and_files_still_go_through_aiogram(demo_app, bot_api) -> None:
    sender = telegram_sender(demo_app, bot_api)
    long = await sender.send_outbound(account(), note(), Reply("kata " * 1000))
    upload = Attachment("surat.pdf", b"%PDF-1.4", "application/pdf")
    with_file = await sender.send_outbound(account(), note(), Reply("Surat", attachment=upload))
    await sender.close()
    assert long.outcome == with_file.outcome == Outcome.SENT
    assert [c.method for c in bot_api.accepted] == ["sendMessage", "sendMessage", "sendDocument"]


@pytest.mark.parametrize(
    ("status", "description", "parameters", "outcome", "retry_after"),
    [
        (429, "Too Many Requests: retry after 3", {"retry_after": 3}, Outcome.RETRY, 3.0),
        (403, "Forbidden: bot was blocked by the user", None, Outcome.UNREACHABLE, None),
        (400, "Bad Request: chat not found", None, Outcome.UNREACHABLE, None),
        (400, "Bad Request: message text is empty", None, Outcome.FAILED, None),
        (401, "Unauthorized", None, Outcome.FAILED, None),
        (502, "Bad Gateway", None, Outcome.RETRY, None),
        (409, "Conflict", None, Outcome.RETRY, None),
    ],
)
async def test_every_refusal_maps_as_with_aiogram(
    demo_app, bot_api, status, description, parameters, outcome, retry_after
) -> None:
    sender = telegram_sender(demo_app, bot_api)
    extra = {"parameters": parameters} if parameters else {}
    body = {"ok": False, "error_code": status, "description": description, **extra}
    results = []
    for text in ("plain", "kata " * 1000):  # the JSON path, then aiogram's
        bot_api.failures["sendMessage"].append((status, body))
        results.append(await sender.send_outbound(account(), note(), Reply(text)))
    await sender.close()
    for result in results:
        assert result.outcome == outcome, result
        assert result.retry_after == retry_after
        assert result.throttled == (status == 429)
    assert not bot_api.accepted


async def test_an_api_that_cannot_be_reached_is_retried_later(demo_app, bot_api) -> None:
    sender = telegram_sender(demo_app, bot_api)
    await bot_api.stop()
    result = await sender.send_outbound(account(), note(), Reply("plain"))
    await sender.close()
    assert result.outcome == Outcome.RETRY and (result.error or "").startswith("network")
