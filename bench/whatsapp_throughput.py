"""Webhook POSTs through the WhatsApp adapter vs a bare pywa echo webhook, same fake Graph API.

Closed-loop users (send, wait for the answer, send again) POST signed webhook bodies, a mix of
/menu and button taps, to the webhook server of this process; the answers are Graph API calls
to the fake on loopback. Prints messages/s and p50/p99 latency (POST sent -> first Graph message
to that user) per variant. The fake Graph API and the users run in a child process, as Meta is not
in ours.

    python -m bench.whatsapp_throughput [--messages 3000] [--users 300] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from pywa.utils import webhook_updates_validator

from bench.closed_loop import Answers, arguments, closed_loop, finish, report, spawn_driver
from bench.telegram_throughput import with_database
from bot.app import App, create_app
from bot.channels.whatsapp import WhatsAppAdapter, close_client, make_client
from bot.channels.whatsapp_webhook import WhatsAppWebhook, webhook_app
from bot.config import Settings
from tests.fakes import fake_graph_api as g

PATH = "/whatsapp/webhook"
BUTTONS = ("home:help", "home:language")
Serve = Callable[[Settings], Awaitable[tuple[str, Callable[[], Awaitable[None]]]]]


def settings_for(base: str, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,
        whatsapp_token=g.TOKEN,
        whatsapp_phone_number_id=g.PHONE_ID,
        whatsapp_app_secret=g.APP_SECRET,
        whatsapp_verify_token=g.VERIFY_TOKEN,
        whatsapp_api_base=base,
        whatsapp_webhook_path=PATH,
        **extra,
    )


async def drive(api: g.FakeGraphAPI, url: str, users: int, total: int) -> tuple[float, list[float]]:
    """Closed-loop users POSTing signed webhooks; returns (elapsed seconds, latencies in ms)."""
    answers = Answers()

    def listen(call: g.Call) -> None:
        if call.method == "messages":
            answers.seen(call.to, call.at)

    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def step(uid: int, n: int) -> float:
            bsuid, wa_id = f"ID.{uid}", f"62899{uid}"
            body = (
                g.text(bsuid, "/menu", wa_id=wa_id)
                if n % 2 == 0
                else g.tap(bsuid, BUTTONS[(uid + n) % 2], wa_id=wa_id)
            )
            api.user_wrote(bsuid)
            return await answers.latency(bsuid, post(http, url, g.dumps(body)))

        return await closed_loop(users, total, step, api.listeners, listen)


async def post(http: aiohttp.ClientSession, url: str, raw: bytes) -> None:
    async with http.post(url, data=raw, headers={"X-Hub-Signature-256": g.sign(raw)}) as response:
        assert response.status == 200, response.status


async def drive_process(users: int, total: int) -> None:
    """Child process: serve the fake Graph API, read the webhook URL, warm up, measure."""
    api = g.FakeGraphAPI()
    await api.start()
    print(api.base, flush=True)
    url = (await asyncio.to_thread(sys.stdin.readline)).strip()
    await drive(api, url, users, max(users, total // 5))  # warm-up: connections, accounts
    elapsed, latencies = await drive(api, url, users, total)
    print(json.dumps({"elapsed": elapsed, "latencies": latencies}), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent has stopped its server
    await api.stop()


async def site(web_app: web.Application) -> tuple[str, web.AppRunner]:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return f"http://127.0.0.1:{port}{PATH}", runner


async def measure(name: str, serve: Serve, users: int, total: int) -> float:
    child = await spawn_driver(
        "bench.whatsapp_throughput", "--users", str(users), "--messages", str(total)
    )
    assert child.stdout is not None and child.stdin is not None
    base = (await child.stdout.readline()).decode().strip()
    url, stop = await serve(settings_for(base))
    child.stdin.write(f"{url}\n".encode())
    await child.stdin.drain()
    result = json.loads(await child.stdout.readline())
    await stop()
    await finish(child)
    return report(name, result, users, "message")


async def echo_server(settings: Settings) -> tuple[str, Callable[[], Awaitable[None]]]:
    """The floor: check the signature, answer 200, echo the text with pywa. No core at all."""
    client = make_client(settings)
    tasks: set[asyncio.Task[Any]] = set()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not webhook_updates_validator(
            g.APP_SECRET, body, request.headers.get("X-Hub-Signature-256", "")
        ):
            return web.Response(status=403)
        message = json.loads(body)["entry"][0]["changes"][0]["value"]["messages"][0]
        text = message.get("text", {}).get("body") or "ok"
        task = asyncio.create_task(client.send_message(message["from_user_id"], text))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post(PATH, receive)
    url, runner = await site(web_app)

    async def stop() -> None:
        await runner.cleanup()
        await close_client(client)

    return url, stop


def abdi_server(app: App) -> Serve:
    async def serve(settings: Settings) -> tuple[str, Callable[[], Awaitable[None]]]:
        app.settings = settings.model_copy(update={"database_url": app.settings.database_url})
        client = make_client(app.settings)
        hook = WhatsAppWebhook(app, WhatsAppAdapter(app, client))
        url, runner = await site(webhook_app(hook))

        async def stop() -> None:
            await runner.cleanup()
            await close_client(client)

        return url, stop

    return serve


async def abdi_on(kind: str, url: str, users: int, total: int, echo: float) -> None:
    app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
    try:
        rate = await measure(f"abdi on {kind}", abdi_server(app), users, total)
    finally:
        await app.close()
    print(f"{'':<22} ratio abdi/echo = {rate / echo:.2f}", flush=True)


async def main() -> None:
    args = arguments(__doc__ or "", "messages", 3000, 300)
    if args.drive:
        await drive_process(args.users, args.count)
        return
    logging.basicConfig(level=logging.ERROR)
    echo = await measure("pywa echo (bare)", echo_server, args.users, args.count)
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        run = functools.partial(abdi_on, kind, users=args.users, total=args.count, echo=echo)
        await with_database(kind, run)


if __name__ == "__main__":
    asyncio.run(main())
