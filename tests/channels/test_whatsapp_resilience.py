"""The WhatsApp webhook under failure: a body is acknowledged only once it is taken (or kept);
a dependency that is down gets 503 and leaves no claim; kept bodies can be replayed; hostile or
broken bodies are refused or kept without tracebacks; a Graph API that fails costs replies only."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import zlib
from collections.abc import Callable

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bot.app import App
from storage.models import Account, InboundEvent, WebhookDeadLetter
from storage.state import ConversationState, RedisStore, StateStore
from tests.conftest import count_rows as count
from tests.fakes import fake_graph_api as g
from tests.fakes.chat import WhatsAppChat, WhatsAppHarness
from tests.helpers.privacy_helpers import known_users

UNAVAILABLE = "Maaf, layanan sedang gangguan sebentar. Silakan coba lagi beberapa saat lagi."


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_store(app: App, store: StateStore) -> StateStore:
    before = app.store
    app.store = app.dispatcher.store = store
    return before


class PartlyDown:
    """A state store whose keys matching `down` cannot be reached, like Redis gone mid-way."""

    def __init__(self, inner: StateStore, down: Callable[[str], bool]) -> None:
        self.inner, self.down = inner, down

    def _check(self, key: str) -> None:
        if self.down(key):
            raise RedisConnectionError("Connection refused")

    async def get(self, key: str) -> ConversationState | None:
        self._check(key)
        return await self.inner.get(key)

    async def set(self, key: str, state: ConversationState, ttl: int) -> None:
        self._check(key)
        await self.inner.set(key, state, ttl)

    async def clear(self, key: str) -> None:
        self._check(key)
        await self.inner.clear(key)

    async def first_seen(self, event_key: str, ttl: int) -> bool:
        self._check(event_key)
        return await self.inner.first_seen(event_key, ttl)

    async def hit(self, key: str, ttl: int) -> int:
        self._check(key)
        return await self.inner.hit(key, ttl)

    async def unhit(self, key: str) -> None:
        self._check(key)
        await self.inner.unhit(key)

    async def peek(self, key: str) -> int:
        self._check(key)
        return await self.inner.peek(key)  # type: ignore[attr-defined]

    async def close(self) -> None:
        await self.inner.close()


# -- C6: taken, or 503 ---------------------------------------------------------------------------
async def test_redis_down_is_503_with_no_claim_and_the_redelivery_is_answered_once(
    wa: WhatsAppHarness,
) -> None:
    user = WhatsAppChat(wa.app, "9301", wa)
    body = g.text(user.bsuid, "/start", user.wa_id)
    assert user.bsuid is not None
    wa.fake.user_wrote(user.bsuid)
    dead = RedisStore(Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5))
    working = use_store(wa.app, dead)
    try:
        assert await wa.post(body) == 503
        assert await wa.post(body) == 503  # WhatsApp's retry while it is still down
    finally:
        use_store(wa.app, working)
        await dead.close()
    assert await count(wa.app, InboundEvent) == 0 and await count(wa.app, Account) == 0
    told = [c.params["text"]["body"] for c in wa.fake.sent(user.bsuid)]
    assert told == [UNAVAILABLE]  # the user knows it waits, once
    assert await wa.post(body) == 200  # Redis is back: the redelivery is handled
    assert await wa.post(body) == 200  # and once only
    answers = [c for c in wa.fake.sent(user.bsuid) if c.params["type"] == "interactive"]
    assert len(answers) == 1 and "Selamat datang" in str(answers[0].params)
    assert await count(wa.app, InboundEvent) == 1


async def test_a_body_half_taken_is_finished_by_the_redelivery(wa: WhatsAppHarness) -> None:
    first, second = WhatsAppChat(wa.app, "9302", wa), WhatsAppChat(wa.app, "9303", wa)
    body = g.text(first.bsuid, "/start", first.wa_id)
    other = g.text(second.bsuid, "/bantuan", second.wa_id)["entry"][0]["changes"][0]["value"]
    value = body["entry"][0]["changes"][0]["value"]
    value["contacts"] += other["contacts"]
    value["messages"] += other["messages"]
    for user in (first, second):
        assert user.bsuid is not None
        wa.fake.user_wrote(user.bsuid)
    # The state store fails for the second user's conversation only (in the dispatcher).
    working = use_store(wa.app, PartlyDown(wa.app.store, lambda k: k == f"whatsapp:{second.bsuid}"))
    try:
        assert await wa.post(body) == 503
    finally:
        use_store(wa.app, working)
    async with wa.app.sessions() as session:
        claims = set(await session.scalars(select(InboundEvent.event_id)))
    assert claims == {f"whatsapp:{value['messages'][0]['id']}"}  # none left for what failed
    assert await wa.post(body) == 200
    assert len([c for c in wa.fake.sent(first.bsuid) if c.params["type"] != "text"]) == 1
    assert [c for c in wa.fake.sent(second.bsuid) if c.params["type"] != "text"]


async def test_a_database_down_is_503_for_messages_statuses_and_kept_bodies(
    wa: WhatsAppHarness,
) -> None:
    broken = create_async_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/x")
    sessions, core_sessions = wa.app.sessions, wa.app.dispatcher.sessions
    wa.app.sessions = wa.app.dispatcher.sessions = async_sessionmaker(broken)
    try:
        assert await wa.post(g.text("ID.9304", "/start", "628990009304")) == 503
        assert await wa.post(g.status("wamid.OUT-1", "delivered", "ID.9304")) == 503
        assert await wa.post(b"{not json") == 503  # cannot be kept: must come again
    finally:
        wa.app.sessions, wa.app.dispatcher.sessions = sessions, core_sessions
        await broken.dispose()
    assert await count(wa.app, WebhookDeadLetter) == 0
    assert await wa.post(b"{not json") == 200 and await count(wa.app, WebhookDeadLetter) == 1


async def test_the_reply_still_goes_out_when_the_store_fails_after_taking(
    wa: WhatsAppHarness,
) -> None:
    user = WhatsAppChat(wa.app, "9305", wa)
    working = use_store(wa.app, PartlyDown(wa.app.store, lambda k: k.startswith("wa-seq:")))
    try:
        await user.send("/start")
    finally:
        use_store(wa.app, working)
    assert "Selamat datang" in user.text and user.labels  # untracked menu, but an answer


async def test_replies_the_graph_api_refuses_or_drops_do_not_lose_the_message(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    user = WhatsAppChat(wa.app, "9306", wa)
    await user.send("/hubungkan")
    for _ in range(3):  # every attempt of the first reply: 5xx
        wa.fake.fail_next(1, 500)
    wa.fake.fail_next(1, 500, method="read")  # and the read mark / typing indicator
    await user.press("kode")
    assert user.replies == []  # the answer was lost, the message was not:
    wa.fake.drop_next(3)  # now the connection drops on each attempt
    await user.send("ABCD-EFGH")  # read as the code the step asked for
    await user.send("ABCD-EFGH")
    assert "Kode tidak dikenal" in user.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# -- replaying dead letters ----------------------------------------------------------------------
async def _keep(app: App, raw: bytes) -> int:
    async with app.sessions() as session, session.begin():
        letter = WebhookDeadLetter(
            channel="whatsapp", reason="part 1: KeyError 'user_id'", body=raw.decode(), raw=raw
        )
        session.add(letter)
        await session.flush()
        return letter.id


async def test_a_replayed_dead_letter_is_processed_and_marked(
    wa: WhatsAppHarness, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "WHATSAPP_TOKEN": g.TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": g.PHONE_ID,
        "WHATSAPP_API_BASE": wa.fake.base,
    }.items():
        monkeypatch.setenv(name, value)
    # A body an older version could not read (no user ids), with a message it did handle.
    await known_users(wa.app, "628990009307", channel="whatsapp")
    done = g.text(None, "/start", "628990009307", wamid="wamid.DONE")
    fresh = g.text(None, "/bantuan", "628990009307", wamid="wamid.FRESH")
    value = done["entry"][0]["changes"][0]["value"]
    value["messages"] += fresh["entry"][0]["changes"][0]["value"]["messages"]
    raw = json.dumps(done, indent=1).encode()  # not the bytes we would write
    async with wa.app.sessions() as session, session.begin():
        session.add(InboundEvent(event_id="whatsapp:wamid.DONE"))
    letter = await _keep(wa.app, raw)
    wa.fake.user_wrote("628990009307")
    replayed = await cli("whatsapp", "dead-letters", "--replay", str(letter))
    assert replayed.code == 0, replayed.err
    assert f"#{letter} diputar ulang" in replayed.out
    assert "1 pesan dijawab" in replayed.out and "1 sudah ditangani sebelumnya" in replayed.out
    answers = wa.fake.sent("628990009307")
    assert len(answers) == 1 and "/batal" in json.dumps(answers[0].params)
    listed = await cli("whatsapp", "dead-letters")
    assert "diputar ulang" in listed.out and "1 pesan dijawab" in listed.out
    again = await cli("whatsapp", "dead-letters", "--replay", str(letter))
    assert again.code == 0 and "sudah pernah diputar ulang" in again.out
    assert "2 sudah ditangani sebelumnya" in again.out
    assert len(wa.fake.sent("628990009307")) == 1
    missing = await cli("whatsapp", "dead-letters", "--replay", "99")
    assert missing.code != 0 and "nomor 99" in missing.err


async def test_a_replay_with_a_dependency_down_marks_nothing(wa: WhatsAppHarness) -> None:
    from bot.dispatcher import Unavailable

    letter = await _keep(wa.app, g.dumps(g.text(None, "/start", "628990009308")))
    dead = RedisStore(Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5))
    working = use_store(wa.app, dead)
    try:
        with pytest.raises(Unavailable):
            await wa.webhook.replay(letter)
    finally:
        use_store(wa.app, working)
        await dead.close()
    async with wa.app.sessions() as session:
        kept = await session.get(WebhookDeadLetter, letter)
    assert kept is not None and kept.replayed_at is None
    assert await count(wa.app, InboundEvent) == 0
    result = await wa.webhook.replay(letter)
    assert result is not None and result[1].outcomes["answered"] == 1


# -- E14: the signature first, on the bytes received -------------------------------------------
def deep(levels: int) -> bytes:
    return (
        b'{"object": "whatsapp_business_account", "entry": ' + b"[" * levels + b"]" * levels + b"}"
    )


async def test_unsigned_or_missigned_compressed_bodies_are_403_on_one_line(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    plain = g.dumps(g.text("ID.9309", "/start"))
    packed = gzip.compress(plain)
    gz = {"Content-Encoding": "gzip"}
    cases: list[tuple[bytes, str, dict[str, str]]] = [
        (packed, "", gz),  # unsigned
        (packed, g.sign(plain), gz),  # signed over the inflated bytes, not what was sent
        (b"\x1f\x8b not gzip at all", "", gz),  # corrupt and unsigned
        (gzip.compress(deep(5000)), "", gz),
        (deep(5000), "sha256=" + "0" * 64, {}),
        (zlib.compress(plain), "", {"Content-Encoding": "deflate"}),
        (packed, "", {"Content-Encoding": "br"}),
    ]
    for raw, signature, headers in cases:
        before = len(caplog.records)
        assert await wa.post(raw, signature=signature, headers=headers) == 403
        new = [r for r in caplog.records[before:] if r.name.startswith("abdi")]
        assert [r.levelname for r in new] == ["WARNING"] and not new[0].exc_info
    assert await count(wa.app, WebhookDeadLetter) == 0 and await count(wa.app, Account) == 0
    assert not wa.fake.sent()


async def test_signed_bodies_we_cannot_read_are_kept_without_tracebacks(
    wa: WhatsAppHarness, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = gzip.compress(b'{"object": "' + b"a" * (6 * 1024 * 1024) + b'"}')
    bodies: list[tuple[bytes, dict[str, str]]] = [
        (deep(100_000), {}),
        (gzip.compress(deep(100_000)), {"Content-Encoding": "gzip"}),
        (b"\x1f\x8b\x08\x00 corrupt", {"Content-Encoding": "gzip"}),
        (gzip.compress(g.dumps(g.text("ID.9310", "hi")))[:-8], {"Content-Encoding": "gzip"}),
        (bomb, {"Content-Encoding": "gzip"}),
        (gzip.compress(g.dumps(g.text("ID.9310", "hi"))), {"Content-Encoding": "br"}),
        (b"[1, 2, 3]", {}),
        (b"null", {}),
    ]
    for raw, headers in bodies:
        assert await wa.post(raw, headers=headers) == 200
    async with wa.app.sessions() as session:
        letters = list(await session.scalars(select(WebhookDeadLetter).order_by("id")))
    assert [letter.raw for letter in letters] == [raw for raw, _ in bodies]  # as received
    assert "nested too deeply" in letters[0].reason and "nested too deeply" in letters[1].reason
    assert not [r for r in caplog.records if r.exc_info]
    assert not wa.fake.sent()


async def test_a_gzipped_body_signed_as_sent_is_answered(wa: WhatsAppHarness) -> None:
    user = WhatsAppChat(wa.app, "9311", wa)
    assert user.bsuid is not None
    wa.fake.user_wrote(user.bsuid)
    await known_users(wa.app, user.bsuid, channel="whatsapp")
    plain = g.dumps(g.text(user.bsuid, "/start", user.wa_id))
    for encoding, packed in (("gzip", gzip.compress(plain)), ("deflate", zlib.compress(plain))):
        assert await wa.post(packed, headers={"Content-Encoding": encoding}) == 200
    assert len(wa.fake.sent(user.bsuid)) == 1  # the same message twice: answered once
