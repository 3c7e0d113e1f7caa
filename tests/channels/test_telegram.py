"""The real aiogram Bot talking HTTP to a fake Bot API on loopback: polling and webhook."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bot.app import App, StartupError
from bot.channels.telegram import (
    check_token,
    make_bot,
)
from storage.models import Account, WebhookDeadLetter
from tests.conftest import TG_SECRET as SECRET
from tests.fakes.fake_bot_api import (
    TOKEN,
    FakeBotAPI,
    callback_update,
    contact_update,
    message_update,
)
from tests.helpers.privacy_helpers import known_users

STAFF_PHONE = "081200000001"


def keyboard_of(call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup") or {}
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]


async def test_polling_start_menu_button_and_commands(bot_api: FakeBotAPI, tg_polling) -> None:
    await bot_api.push(message_update(42, "/start"))
    notice, reply = await bot_api.wait_calls("sendMessage", 2)  # a first contact: the notice first
    assert "Pemberitahuan privasi" in notice.params["text"]
    assert int(reply.params["chat_id"]) == 42
    assert "Selamat datang di Abdi" in reply.params["text"]
    buttons = keyboard_of(reply)
    assert any("Hubungkan" in text for text, _ in buttons)
    registered = bot_api.sent("setMyCommands")
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
    assert bot_api.sent("deleteWebhook")

    language = next(data for text, data in buttons if "Bahasa" in text)
    await bot_api.push(
        callback_update(42, language, message_id=int(reply.params.get("message_id", 1000)))
    )
    [answer] = await bot_api.wait_calls("answerCallbackQuery", 1)
    [edited] = await bot_api.wait_calls("editMessageText", 1)
    assert "Pilih bahasa" in edited.params["text"]
    assert any(text == "English" for text, _ in keyboard_of(edited))
    assert answer.at <= edited.at  # the button is answered before the work is done


async def test_polling_links_own_contact_and_refuses_anothers(
    bot_api: FakeBotAPI, tg_polling, demo_app: App
) -> None:
    await known_users(demo_app, 51)
    await bot_api.push(message_update(51, "/hubungkan"))
    sent = await bot_api.wait_calls("sendMessage", 2)
    contact_prompt = sent[1].params["reply_markup"]["keyboard"][0][0]
    assert contact_prompt["request_contact"] is True
    await bot_api.push(contact_update(51, STAFF_PHONE, owner=99))
    sent = await bot_api.wait_calls("sendMessage", 4)  # the refusal offers the button again
    assert "kontak Anda sendiri" in sent[2].params["text"]
    assert sent[3].params["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    await bot_api.push(contact_update(51, "+62 812-0000-0001", owner=51))
    sent = await bot_api.wait_calls("sendMessage", 5)
    assert "berhasil terhubung" in sent[4].params["text"]
    async with demo_app.sessions() as session:
        account = await session.scalar(select(Account).where(Account.user_ref == "51"))
    assert account is not None and account.employee_id is not None


async def test_rate_limited_reply_waits_and_is_delivered(bot_api: FakeBotAPI, tg_polling) -> None:
    bot_api.rate_limit_next("sendMessage", retry_after=1)
    await bot_api.push(message_update(43, "/menu"))
    sent = await bot_api.wait_calls("sendMessage", 2)
    assert sent[0].params["text"] == sent[1].params["text"]
    assert sent[1].at - sent[0].at >= 0.9  # the server's retry_after was honoured


async def test_server_error_retried_and_group_chats_ignored(
    bot_api: FakeBotAPI, tg_polling
) -> None:
    group = message_update(44, "/start")
    group["message"]["chat"] = {"id": -100, "type": "group", "title": "Grup"}
    await bot_api.push(group)
    bot_api.fail_next("sendMessage", 502, "Bad Gateway")
    await bot_api.push(message_update(45, "halo"))
    sent = await bot_api.wait_calls("sendMessage", 2)
    assert {int(c.params["chat_id"]) for c in sent} == {45}


async def test_bad_token_is_one_clear_error(demo_app: App, tg_settings) -> None:
    bot = make_bot(tg_settings.model_copy(update={"telegram_bot_token": SecretStr("1:wrong")}))
    with pytest.raises(StartupError) as raised:
        await check_token(bot)
    assert raised.value.key == "cli.bad_token"
    await bot.session.close()


async def test_webhook_checks_secret_keeps_unreadable_bodies_never_5xx(
    tg_webhook, bot_api: FakeBotAPI, demo_app: App
) -> None:
    client, url = tg_webhook
    await known_users(demo_app, 60, 61)
    good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    update = {"update_id": 900, **message_update(60, "/start")}
    refused = [
        ({}, json.dumps(update), 403),
        ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, json.dumps(update), 403),
        ({"Content-Encoding": "gzip"}, b"\x1f\x8bnot gzip", 403),  # unsigned: 403, not 400
        (good, "x" * (2 * 1024 * 1024), 413),
    ]
    for headers, body, status in refused:
        async with client.post(url, data=body, headers=headers) as response:
            assert response.status == status, (headers, str(body)[:40])
    # With the right secret a body is Telegram's: what cannot be read is kept, answered 200.
    unreadable: list[tuple[dict[str, str], str | bytes]] = [
        ({}, "{not json"),
        ({}, json.dumps({"hello": "world"})),
        ({}, json.dumps([1, 2, 3])),
        ({}, json.dumps({"update_id": "x", "message": 5})),
        ({}, b"\xff\xfe\x00"),
        ({}, "[" * 5000 + "]" * 5000),  # nested past the JSON parser's depth
        ({"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00corrupt"),
        ({"Content-Encoding": "br"}, b"anything"),
    ]
    for headers, body in unreadable:
        async with client.post(url, data=body, headers={**good, **headers}) as response:
            assert response.status == 200, (headers, str(body)[:40])
    async with demo_app.sessions() as session:
        kept = list(await session.scalars(select(WebhookDeadLetter.raw)))
    assert len(kept) == len(unreadable)
    assert {bytes(k) for k in kept} == {  # type: ignore[arg-type]
        b if isinstance(b, bytes) else b.encode() for _, b in unreadable
    }
    assert not bot_api.sent()
    for _ in range(2):  # Telegram redelivers: the same update_id is handled once
        async with client.post(url, json=update, headers=good) as response:
            assert response.status == 200
    await bot_api.wait_calls("sendMessage", 1)
    await asyncio.sleep(0.3)
    assert len(bot_api.sent()) == 1
    compressed = {"update_id": 901, **message_update(61, "/start")}
    async with client.post(
        url,
        data=gzip.compress(json.dumps(compressed).encode()),
        headers={**good, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    ) as response:
        assert response.status == 200
    await bot_api.wait_calls("sendMessage", 2)
    async with client.get(url.replace(url.split("/", 3)[3], "healthz")) as response:
        body = await response.json()
        assert response.status == 200 and body["status"] == "ok" and body["database"] == "ok"


async def test_abdi_run_serves_polling_and_stops_cleanly_on_sigterm(
    bot_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": bot_api.base,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        "REDIS_URL": "",
    }
    env.pop("TELEGRAM_WEBHOOK_URL", None)
    bot_api.delays["sendMessage"] = 1.0  # the reply is in flight when SIGTERM arrives
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
        # A deadline, not a timing: start-up (imports, migrations) is slow on a loaded machine.
        await bot_api.wait_calls("setMyCommands", 2, within=120)
        await bot_api.push(message_update(70, "/start"))
        await bot_api.wait_calls("sendMessage", 1, within=30)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()
    assert code == 0, stderr
    assert "Traceback" not in stderr and "not delivered" not in stderr


async def test_a_document_sent_to_a_broadcast_draft_is_downloaded_and_attached(
    bot_api: FakeBotAPI, tg_polling, demo_app: App
) -> None:
    hr = 61
    await known_users(demo_app, hr)
    await bot_api.push(contact_update(hr, "081200000034", owner=hr))  # the demo HR officer
    await bot_api.wait_calls("sendMessage", 1)
    await bot_api.push(callback_update(hr, "broadcast:new"))
    await bot_api.wait_calls("editMessageText", 1)
    bot_api.files["doc-1"] = b"%PDF-1.4\n% jadwal\n"
    document = {"file_id": "doc-1", "file_unique_id": "u1", "file_name": "jadwal.pdf",
                "mime_type": "application/pdf", "file_size": 18}  # fmt: skip
    await bot_api.push(message_update(hr, caption="Jadwal apel terlampir", document=document))
    sent = await bot_api.wait_calls("sendMessage", 2)
    assert "Kirim ke siapa" in sent[1].params["text"], sent[1].params
    assert any(c.method == "getFile" for c in bot_api.calls)
    await bot_api.push(callback_update(hr, "broadcast:aud:hr"))
    edits = await bot_api.wait_calls("editMessageText", 2)
    assert "📎 Lampiran: jadwal.pdf" in edits[1].params["text"]


def test_api_answer_models_outlive_a_garbage_collection() -> None:
    # aiogram reads each answer as Response[<result type>]; were that class freed by a collection,
    # the next API call would spend ~15 ms building it again.
    import gc
    import weakref

    from aiogram.methods import EditMessageText, Response, SendMessage

    for method in (SendMessage, EditMessageText):
        model = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
        gc.collect()
        assert model() is not None
