"""The drain's raw sendMessage (one aiohttp session) against a server that answers in every
way HTTP/1.1 allows: kept alive, chunked, closing after the answer, too slow, garbage. Each send
gets its outcome, and no request is ever written twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from bot.channels.telegram_raw import RawBotAPI
from bot.senders import Outcome

OK = {"ok": True, "result": {"message_id": 7}}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[tuple[str, list[str]]]]]:
    """Start a server with one handler; (the sendMessage URL, the peer of each request)."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> tuple[str, list[str]]:
        peers: list[str] = []

        async def record(request: web.Request) -> web.StreamResponse:
            peers.append(
                str(request.transport.get_extra_info("peername") if request.transport else "")
            )
            return await handler(request)

        app = web.Application()
        app.router.add_post("/bot1:x/sendMessage", record)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}/bot1:x/sendMessage", peers

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_connections_are_kept_alive_and_the_body_is_telegrams(serve) -> None:
    bodies: list[dict] = []

    async def handler(request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        bodies.append(await request.json())
        return web.json_response(OK)

    url, peers = await serve(handler)
    api = RawBotAPI(url, 5, connections=2)
    results = [await api.send_message(str(n), "Apel pagi 📢") for n in range(5)]
    results += await asyncio.gather(*(api.send_message("-100", "x") for _ in range(4)))
    await api.close()
    assert all(r.outcome == Outcome.SENT and r.platform_id == "7" for r in results)
    assert bodies[:2] == [
        {"chat_id": 0, "text": "Apel pagi 📢"},
        {"chat_id": 1, "text": "Apel pagi 📢"},
    ]
    assert len(set(peers)) <= 2  # nine requests over at most two connections


async def test_chunked_and_closing_answers_are_read_whole(serve) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls % 2:  # chunked, in pieces
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            text = json.dumps(OK).encode()
            await response.write(text[:5])
            await asyncio.sleep(0.01)
            await response.write(text[5:])
            await response.write_eof()
            return response
        return web.json_response(
            {"ok": False, "description": "Forbidden: bot was blocked by the user"},
            status=403,
            headers={"Connection": "close"},
        )

    url, peers = await serve(handler)
    api = RawBotAPI(url, 5)
    results = [await api.send_message("1", "x") for _ in range(4)]
    await api.close()
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.UNREACHABLE] * 2
    assert calls == 4  # each request written once
    assert len(set(peers)) == 2  # a new connection after each "Connection: close"


async def test_a_slow_or_garbled_answer_is_retried_later_not_resent(serve) -> None:
    calls = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(2)
        if calls == 2:
            return web.Response(body=b"<html>bad gateway</html>", status=502)
        return web.json_response(OK)

    url, _ = await serve(handler)
    api = RawBotAPI(url, 0.5)
    slow = await api.send_message("1", "x")
    garbled = await api.send_message("1", "x")
    fine = await api.send_message("1", "x")
    await api.close()
    assert slow.outcome == Outcome.RETRY and (slow.error or "").startswith("network")
    assert garbled.outcome == Outcome.RETRY and (garbled.error or "").startswith("502")
    assert fine.outcome == Outcome.SENT
    assert calls == 3
