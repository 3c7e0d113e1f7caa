"""Telegram as it really arrives: every update shape of tests/data/telegram, and faults.

The real aiogram client and our adapter run against the fake Bot API; updates come in through
the real webhook app or through long polling. Outcomes are read from what the fake API was asked.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from storage.models import InboundEvent, WebhookDeadLetter
from storage.state import MemoryStore, RedisStore
from tests.conftest import TG_SECRET
from tests.fakes.fake_bot_api import FakeBotAPI, callback_update, message_update
from tests.helpers.privacy_helpers import known_users

DATA = Path(__file__).parents[1] / "data" / "telegram"
# Private messages a person wrote: each gets an answer in that chat (a menu, "cannot read that
# kind of message", a refusal to link someone else's contact...). Everything else in the folder
# is traffic nobody should be answered for: groups, channels, edits, service messages, other
# update kinds, and a message with no sender (venue.json has no "from"). Buttons in a group or on
# inline messages get only the callback answer.
ANSWERED = {
    "animation",
    "audio",
    "callback_query_inaccessible_message",
    "callback_query_private",
    "command_start_deeplink",
    "command_start_entities",
    "contact_other_no_user_id",
    "contact_other_user_id",
    "contact_own_with_user_id",
    "document_pdf",
    "forward_both_styles",
    "forward_from_legacy",
    "forward_origin_hidden_user",
    "forward_origin_user",
    "location",
    "photo_caption",
    "poll_message",
    "reply_to_message",
    "sticker",
    "text_private",
    "text_private_unicode",
    "user_minimal_no_lastname_username_lang",
    "via_bot",
    "video",
    "video_note",
    "voice",
}
SAMPLES = sorted(p.stem for p in DATA.glob("*.json") if p.stem != "getupdates_with_unreadable")
REPLY_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((DATA / f"{name}.json").read_text()))


def chat_of(update: dict[str, Any]) -> int | None:
    part = update.get("message") or update.get("callback_query", {}).get("message")
    if isinstance(part, dict) and isinstance(part.get("chat"), dict):
        return int(part["chat"]["id"])
    return None


def replies(api: FakeBotAPI) -> list[Any]:
    return [c for c in api.calls if c.method in REPLY_METHODS]


async def post(tg_webhook: tuple[Any, str], body: dict[str, Any] | bytes) -> int:
    client, url = tg_webhook
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    async with client.post(url, data=data, headers=headers) as response:
        await response.read()
        return response.status


async def settle(api: FakeBotAPI, adapter_wait: float = 0.3) -> None:
    """Let background sends reach the fake API."""
    await asyncio.sleep(adapter_wait)


def test_every_sample_is_classified() -> None:
    assert len(SAMPLES) >= 60
    assert ANSWERED <= set(SAMPLES)


async def test_every_real_update_shape_is_answered_or_ignored_never_an_error(
    tg_webhook, bot_api: FakeBotAPI, demo_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    wrong: list[str] = []
    for n, name in enumerate(SAMPLES):
        update = sample(name)
        update["update_id"] = 10_000 + n  # the samples reuse ids; each is a new update here
        before = len(bot_api.calls)
        status = await post(tg_webhook, update)
        await settle(bot_api)
        new = bot_api.calls[before:]
        sent = [c for c in new if c.method in REPLY_METHODS]
        if status != 200:
            wrong.append(f"{name}: HTTP {status}")
        elif name in ANSWERED:
            chat = chat_of(update)
            if not sent or any(int(c.params["chat_id"]) != chat for c in sent):
                wrong.append(f"{name}: expected an answer in chat {chat}, got {sent}")
        elif sent:
            wrong.append(f"{name}: expected silence, got {[c.method for c in sent]}")
        if any(c.method == "getFile" for c in new):
            wrong.append(f"{name}: a file was downloaded at a step that takes none")
    assert not wrong, "\n".join(wrong)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    async with demo_app.sessions() as session:
        assert not await session.scalar(select(func.count()).select_from(WebhookDeadLetter))
    # A sticker or a voice note is told apart from text: "that kind of message" in words.
    texts = [c.params.get("text", "") for c in bot_api.calls if c.method == "sendMessage"]
    assert any("jenis pesan itu belum bisa saya baca" in t.lower() for t in texts)


async def test_polling_keeps_an_unreadable_update_and_serves_the_rest(
    bot_api: FakeBotAPI, tg_polling, demo_app: App
) -> None:
    batch = json.loads((DATA / "getupdates_with_unreadable.json").read_text())["result"]
    for update in batch:
        await bot_api.push(update)
    sent = await bot_api.wait_calls("sendMessage", 2)
    chats = {int(c.params["chat_id"]) for c in sent}
    assert chats == {chat_of(batch[0]), chat_of(batch[2])}
    async with demo_app.sessions() as session:
        kept = list(await session.scalars(select(WebhookDeadLetter)))
    assert len(kept) == 1 and kept[0].channel == "telegram"
    assert json.loads(kept[0].raw or b"")["update_id"] == batch[1]["update_id"]
    # Polling went on: a later update is served too (the offset moved past the bad one).
    later = batch[2]["update_id"] + 1
    await bot_api.push({"update_id": later, **message_update(4242, "/menu")})
    await bot_api.wait_calls("sendMessage", 3)


def dead_redis() -> RedisStore:
    return RedisStore.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1


async def claims(app: App) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


async def test_webhook_answers_503_while_redis_is_down_and_loses_nothing(
    tg_webhook, bot_api: FakeBotAPI, demo_app: App
) -> None:
    await known_users(demo_app, 5001)
    update = {"update_id": 5000, **message_update(5001, "/start")}
    working = demo_app.dispatcher.store
    demo_app.dispatcher.store = dead_redis()
    try:
        assert await post(tg_webhook, update) == 503  # Telegram will send it again
        await settle(bot_api)
        assert not replies(bot_api) and await claims(demo_app) == 0
    finally:
        await demo_app.dispatcher.store.close()
        demo_app.dispatcher.store = working
    for _ in range(2):  # the redelivery, and a duplicate of it
        assert await post(tg_webhook, update) == 200
    await bot_api.wait_calls("sendMessage", 1)
    await settle(bot_api)
    assert len(replies(bot_api)) == 1 and await claims(demo_app) == 1


async def test_polling_does_not_confirm_updates_while_redis_is_down(
    bot_api: FakeBotAPI, demo_app: App, tg_settings
) -> None:
    from bot.channels.telegram import TelegramAdapter, make_bot
    from bot.channels.telegram_polling import run_polling

    await known_users(demo_app, 5101, 5102)
    demo_app.dispatcher.store = dead_redis()
    bot = make_bot(tg_settings)
    adapter = TelegramAdapter(demo_app.dispatcher, bot)
    task = asyncio.create_task(
        run_polling(demo_app, bot, adapter=adapter, polling_timeout=1, handle_signals=False)
    )
    try:
        await bot_api.push(message_update(5101, "/start"))
        await bot_api.push(message_update(5102, "/start"))
        await asyncio.sleep(1.5)
        assert not replies(bot_api) and await claims(demo_app) == 0
        # The updates are still Telegram's to give: no getUpdates confirmed them.
        assert len(bot_api.updates) == 2
        await demo_app.dispatcher.store.close()
        demo_app.dispatcher.store = MemoryStore()
        sent = await bot_api.wait_calls("sendMessage", 2, within=40)
        assert {int(c.params["chat_id"]) for c in sent} == {5101, 5102}
        await asyncio.sleep(1.5)
        assert len(bot_api.sent()) == 2  # each once
    finally:
        adapter.stop_polling()
        await asyncio.wait_for(task, 10)


async def test_a_press_is_handled_when_answering_it_fails_and_a_failed_edit_sends_anew(
    bot_api: FakeBotAPI, tg_polling, demo_app: App
) -> None:
    await known_users(demo_app, 5201)
    for _ in range(4):  # more 5xx than the client retries
        bot_api.fail_next("answerCallbackQuery", 502, "Bad Gateway")
    await bot_api.push(callback_update(5201, "home:menu"))
    [edited] = await bot_api.wait_calls("editMessageText", 1)
    assert "Silakan pilih layanan" in edited.params["text"]
    bot_api.fail_next("editMessageText", 400, "Bad Request: message can't be edited")
    await bot_api.push(callback_update(5201, "home:menu"))
    [sent] = await bot_api.wait_calls("sendMessage", 1)
    assert int(sent.params["chat_id"]) == 5201 and "Silakan pilih layanan" in sent.params["text"]
    for _ in range(4):
        bot_api.fail_next("editMessageText", 500, "Internal Server Error")
    await bot_api.push(callback_update(5201, "home:menu"))
    await bot_api.wait_calls("sendMessage", 2, within=20)


async def test_buttons_only_in_private_chats_and_no_download_for_what_no_step_takes(
    bot_api: FakeBotAPI, tg_polling
) -> None:
    group_press = callback_update(5301, "home:menu")
    group_press["callback_query"]["message"]["chat"] = {"id": -5300, "type": "group", "title": "G"}
    await bot_api.push(group_press)
    await bot_api.wait_calls("answerCallbackQuery", 1)
    bot_api.files["big-photo"] = b"\xff\xd8\xff" + b"0" * 100
    photo = [{"file_id": "big-photo", "file_unique_id": "b", "width": 9, "height": 9}]
    await bot_api.push(message_update(5302, photo=photo))
    [answer] = await bot_api.wait_calls("sendMessage", 1)
    assert int(answer.params["chat_id"]) == 5302
    assert not [c for c in bot_api.calls if c.method in ("getFile", "editMessageText")]
    assert not [c for c in replies(bot_api) if int(c.params["chat_id"]) == -5300]


async def test_a_kept_update_is_replayed_from_the_cli_once(
    cli, bot_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    from bot.app import create_app
    from bot.config import Settings
    from tests.fakes.fake_bot_api import TOKEN

    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE", bot_api.base)
    app = await create_app(Settings(_env_file=None, database_url=database_url))
    readable = {"update_id": 7000, **message_update(7001, "/start")}
    unreadable = json.loads((DATA / "getupdates_with_unreadable.json").read_text())["result"][1]
    async with app.sessions() as session, session.begin():
        # A body kept while the code could not read it (now it can), and one it still cannot.
        for item in (readable, unreadable):
            raw = json.dumps(item).encode()
            session.add(
                WebhookDeadLetter(channel="telegram", reason="test", body=raw.decode(), raw=raw)
            )
    async with app.sessions() as session:
        ids = list(await session.scalars(select(WebhookDeadLetter.id).order_by("id")))
    await known_users(app, 7001)
    await app.close()
    listed = await cli("telegram", "dead-letters")
    assert listed.code == 0 and f"#{ids[0]}" in listed.out and f"#{ids[1]}" in listed.out
    done = await cli("telegram", "dead-letters", "--replay", str(ids[0]))
    assert done.code == 0, done
    assert "1 pesan dijawab" in done.out
    [sent] = bot_api.sent()
    assert int(sent.params["chat_id"]) == 7001
    again = await cli("telegram", "dead-letters", "--replay", str(ids[0]))
    assert again.code == 0 and "sudah pernah diputar ulang" in again.out  # not answered twice
    assert len(bot_api.sent()) == 1
    still = await cli("telegram", "dead-letters", "--replay", str(ids[1]))
    assert still.code == 1 and "chat.type" in still.out
    assert (await cli("whatsapp", "dead-letters")).out.strip() == (
        "Tidak ada kiriman yang disimpan karena tidak terbaca."
    )
