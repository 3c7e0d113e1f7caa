"""Webhook POSTs through the WhatsApp adapter vs a bare pywa echo webhook, same fake Graph API.

Closed-loop users (send, wait for the answer, send again) POST signed webhook bodies, a mix of
/menu and button taps, to the webhook server of this process; the answers are Graph API calls
to the fake on loopback. Prints messages/s and p50/p99 latency (POST sent -> first Graph message
to that user) per variant. The fake Graph API and the users run in a child process, as Meta is not
in ours.

    python -m bench.whatsapp_throughput [--messages 3000] [--users 300] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from pywa.utils import webhook_updates_validator

from bench.telegram_throughput import with_database
from bot.app import App, create_app
from bot.channels.whatsapp import WhatsAppAdapter, close_client, make_client
from bot.channels.whatsapp_webhook import WhatsAppWebhook, webhook_app
from bot.config import Settings
from tests import fake_graph_api as g

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
    """Closed-loop users; returns (elapsed seconds, latencies in ms)."""
    waiting: dict[str, asyncio.Future[float]] = {}

    def listen(call: g.Call) -> None:
        if call.method == "messages":
            future = waiting.get(call.to)
            if future is not None and not future.done():
                future.set_result(call.at)

    api.listeners.append(listen)
    latencies: list[float] = []
    per_user = total // users
    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def user(uid: int) -> None:
            bsuid = f"ID.{uid}"
            for step in range(per_user):
                body = (
                    g.text(bsuid, "/menu", wa_id=f"62899{uid}")
                    if step % 2 == 0
                    else g.tap(bsuid, BUTTONS[(uid + step) % 2], wa_id=f"62899{uid}")
                )
                raw = g.dumps(body)
                api.user_wrote(bsuid)
                waiting[bsuid] = loop.create_future()
                sent = time.monotonic()
                async with http.post(
                    url, data=raw, headers={"X-Hub-Signature-256": g.sign(raw)}
                ) as response:
                    assert response.status == 200, response.status
                answered = await asyncio.wait_for(waiting[bsuid], 60)
                latencies.append((answered - sent) * 1000)

        started = time.monotonic()
        await asyncio.gather(*(user(100_000 + i) for i in range(users)))
        elapsed = time.monotonic() - started
    api.listeners.remove(listen)
    return elapsed, latencies


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
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.whatsapp_throughput",
        "--drive",
        "--users",
        str(users),
        "--messages",
        str(total),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )
    assert child.stdout is not None and child.stdin is not None
    base = (await child.stdout.readline()).decode().strip()
    url, stop = await serve(settings_for(base))
    child.stdin.write(f"{url}\n".encode())
    await child.stdin.drain()
    result = json.loads(await child.stdout.readline())
    await stop()
    child.stdin.close()
    await child.wait()
    latencies: list[float] = result["latencies"]
    rate = len(latencies) / result["elapsed"]
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} messages={len(latencies)} users={users} rate={rate:,.0f} msg/s "
        f"p50={q[49]:.1f} ms p99={q[98]:.1f} ms",
        flush=True,
    )
    return rate


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


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        await drive_process(args.users, args.messages)
        return
    logging.basicConfig(level=logging.ERROR)
    echo = await measure("pywa echo (bare)", echo_server, args.users, args.messages)
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:

        async def run(url: str, kind: str = kind) -> None:
            app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
            try:
                rate = await measure(f"abdi on {kind}", abdi_server(app), args.users, args.messages)
            finally:
                await app.close()
            print(f"{'':<22} ratio abdi/echo = {rate / echo:.2f}", flush=True)

        await with_database(kind, run)


if __name__ == "__main__":
    asyncio.run(main())
