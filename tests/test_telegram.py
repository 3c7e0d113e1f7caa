"""The real aiogram Bot talking HTTP to a fake Bot API on loopback: polling and webhook."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bot.app import App, StartupError
from bot.channels.telegram import (
    TelegramAdapter,
    check_token,
    make_bot,
    run_polling,
    split_text,
    webhook_app,
)
from storage.models import Account
from tests.fake_bot_api import TOKEN, FakeBotAPI, callback_update, contact_update, message_update

STAFF_PHONE = "081200000001"
SECRET = "s3cret-webhook-token"


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def tg_settings(demo_app: App, fake_api: FakeBotAPI):  # type: ignore[no-untyped-def]
    return demo_app.settings.model_copy(
        update={
            "telegram_bot_token": TOKEN,
            "telegram_api_base": fake_api.base,
            "telegram_webhook_secret": SECRET,
        }
    )


@pytest.fixture
async def polling(demo_app: App, tg_settings) -> AsyncIterator[TelegramAdapter]:  # type: ignore[no-untyped-def]
    bot = make_bot(tg_settings)
    adapter = TelegramAdapter(demo_app.dispatcher, bot)
    task = asyncio.create_task(
        run_polling(demo_app, bot, adapter=adapter, polling_timeout=1, handle_signals=False)
    )
    yield adapter
    await adapter.aiogram.stop_polling()
    await asyncio.wait_for(task, 10)


def keyboard_of(call) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    markup = call.params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


async def test_polling_start_menu_button_and_commands(fake_api: FakeBotAPI, polling) -> None:  # type: ignore[no-untyped-def]
    await fake_api.push(message_update(42, "/start"))
    [reply] = await fake_api.wait_calls("sendMessage", 1)
    assert int(reply.params["chat_id"]) == 42
    assert "Selamat datang di Abdi" in reply.params["text"]
    buttons = keyboard_of(reply)
    assert any("Hubungkan" in text for text, _ in buttons)
    registered = fake_api.sent("setMyCommands")
    assert len(registered) == 2 and {c.params.get("language_code") for c in registered} == {
        None,
        "en",
    }
    assert [c["command"] for c in registered[0].params["commands"]] == [
        "start",
        "menu",
        "batal",
        "bahasa",
        "bantuan",
    ]
    assert fake_api.sent("deleteWebhook")

    language = next(data for text, data in buttons if "Bahasa" in text)
    await fake_api.push(
        callback_update(42, language, message_id=int(reply.params.get("message_id", 1000)))
    )
    [answer] = await fake_api.wait_calls("answerCallbackQuery", 1)
    [edited] = await fake_api.wait_calls("editMessageText", 1)
    assert "Pilih bahasa" in edited.params["text"]
    assert any(text == "English" for text, _ in keyboard_of(edited))
    assert answer.at <= edited.at  # the button is answered before the work is done


async def test_polling_links_own_contact_and_refuses_anothers(
    fake_api: FakeBotAPI, polling, demo_app: App
) -> None:  # type: ignore[no-untyped-def]
    await fake_api.push(message_update(51, "/hubungkan"))
    sent = await fake_api.wait_calls("sendMessage", 2)
    contact_prompt = sent[1].params["reply_markup"]["keyboard"][0][0]
    assert contact_prompt["request_contact"] is True
    await fake_api.push(contact_update(51, STAFF_PHONE, owner=99))
    sent = await fake_api.wait_calls("sendMessage", 3)
    assert "kontak Anda sendiri" in sent[2].params["text"]
    await fake_api.push(contact_update(51, "+62 812-0000-0001", owner=51))
    sent = await fake_api.wait_calls("sendMessage", 4)
    assert "berhasil terhubung" in sent[3].params["text"]
    async with demo_app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_ref == "51"))
    assert account is not None and account.employee_id is not None


async def test_rate_limited_reply_waits_and_is_delivered(fake_api: FakeBotAPI, polling) -> None:  # type: ignore[no-untyped-def]
    fake_api.rate_limit_next("sendMessage", retry_after=1)
    await fake_api.push(message_update(43, "/menu"))
    sent = await fake_api.wait_calls("sendMessage", 2)
    assert sent[0].params["text"] == sent[1].params["text"]
    assert sent[1].at - sent[0].at >= 0.9  # the server's retry_after was honoured


async def test_server_error_retried_and_group_chats_ignored(fake_api: FakeBotAPI, polling) -> None:  # type: ignore[no-untyped-def]
    group = message_update(44, "/start")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Grup"}
    await fake_api.push(group)
    fake_api.fail_next("sendMessage", 502, "Bad Gateway")
    await fake_api.push(message_update(45, "halo"))
    sent = await fake_api.wait_calls("sendMessage", 2)
    assert {int(c.params["chat_id"]) for c in sent} == {45}


async def test_bad_token_is_one_clear_error(demo_app: App, tg_settings) -> None:  # type: ignore[no-untyped-def]
    bot = make_bot(tg_settings.model_copy(update={"telegram_bot_token": "1:wrong"}))
    with pytest.raises(StartupError) as raised:
        await check_token(bot)
    assert raised.value.key == "cli.bad_token"
    await bot.session.close()


@pytest.fixture
async def webhook(demo_app: App, tg_settings) -> AsyncIterator[tuple[ClientSession, str]]:  # type: ignore[no-untyped-def]
    bot = make_bot(tg_settings)
    demo_app.settings = tg_settings
    server = TestServer(webhook_app(demo_app, bot), host="127.0.0.1")
    await server.start_server()
    async with ClientSession() as client:
        yield client, str(server.make_url(tg_settings.webhook_path))
    await server.close()
    await bot.session.close()


async def test_webhook_checks_secret_and_answers_4xx_never_5xx(
    webhook, fake_api: FakeBotAPI
) -> None:  # type: ignore[no-untyped-def]
    client, url = webhook
    good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    update = {"update_id": 900, **message_update(60, "/start")}
    cases = [
        ({}, json.dumps(update), 403),
        ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, json.dumps(update), 403),
        (good, "{not json", 400),
        (good, json.dumps({"hello": "world"}), 400),
        (good, json.dumps([1, 2, 3]), 400),
        (good, json.dumps({"update_id": "x", "message": 5}), 400),
        (good, b"\xff\xfe\x00", 400),
        (good, "x" * (2 * 1024 * 1024), 413),
    ]
    for headers, body, status in cases:
        async with client.post(url, data=body, headers=headers) as response:
            assert response.status == status, (headers, str(body)[:40])
    assert not fake_api.sent()
    for _ in range(2):  # Telegram redelivers: the same update_id is handled once
        async with client.post(url, json=update, headers=good) as response:
            assert response.status == 200
    await fake_api.wait_calls("sendMessage", 1)
    await asyncio.sleep(0.3)
    assert len(fake_api.sent()) == 1
    async with client.get(url.replace(url.split("/", 3)[3], "healthz")) as response:
        assert response.status == 200 and (await response.json())["status"] == "ok"


def test_split_text_respects_telegram_limit() -> None:
    text = "\n".join(f"baris {i} " + "x" * 50 for i in range(200))
    parts = split_text(text)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "".join(p.replace("\n", "") for p in parts) == text.replace("\n", "")
    assert all(len(p) <= 4096 for p in split_text("y" * 10000))


async def test_abdi_run_serves_polling_and_stops_cleanly_on_sigterm(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": fake_api.base,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "REDIS_URL": "",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    fake_api.delays["sendMessage"] = 1.0  # the reply is in flight when SIGTERM arrives
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await fake_api.wait_calls("setMyCommands", 2, within=30)
        await fake_api.push(message_update(70, "/start"))
        await fake_api.wait_calls("sendMessage", 1, within=30)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    stderr = (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert code == 0, stderr
    assert "Traceback" not in stderr and "not delivered" not in stderr


async def test_a_document_sent_to_a_broadcast_draft_is_downloaded_and_attached(
    fake_api: FakeBotAPI, polling
) -> None:  # type: ignore[no-untyped-def]
    hr = 61
    await fake_api.push(contact_update(hr, "081200000034", owner=hr))  # the demo HR officer
    await fake_api.wait_calls("sendMessage", 1)
    await fake_api.push(callback_update(hr, "broadcast:new"))
    await fake_api.wait_calls("editMessageText", 1)
    fake_api.files["doc-1"] = b"%PDF-1.4\n% jadwal\n"
    document = {"file_id": "doc-1", "file_unique_id": "u1", "file_name": "jadwal.pdf",
                "mime_type": "application/pdf", "file_size": 18}  # fmt: skip
    await fake_api.push(message_update(hr, caption="Jadwal apel terlampir", document=document))
    sent = await fake_api.wait_calls("sendMessage", 2)
    assert "Kirim ke siapa" in sent[1].params["text"], sent[1].params
    assert any(c.method == "getFile" for c in fake_api.calls)
    await fake_api.push(callback_update(hr, "broadcast:aud:hr"))
    edits = await fake_api.wait_calls("editMessageText", 2)
    assert "📎 Lampiran: jadwal.pdf" in edits[1].params["text"]
