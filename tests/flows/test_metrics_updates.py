"""abdi_updates_total and abdi_handler_seconds as the core counts them: one per event taken."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bot.app import App
from bot.messages import Channel, Inbound
from storage.state import RedisStore


def counted(outcome: str) -> float:
    labels = {"channel": "console", "outcome": outcome}
    return REGISTRY.get_sample_value("abdi_updates_total", labels) or 0.0


def timed() -> float:
    return REGISTRY.get_sample_value("abdi_handler_seconds_count", {"channel": "console"}) or 0.0


def said(user: str, event: str, text: str) -> Inbound:
    return Inbound(channel=Channel.CONSOLE, chat_ref=user, user_ref=user, event_id=event, text=text)


async def test_each_event_is_counted_once_by_its_outcome(demo_app: App) -> None:
    before = {o: counted(o) for o in ("handled", "duplicate", "unavailable", "failed")}
    times = timed()
    core = demo_app.dispatcher
    assert await core.handle(said("8101", "m-1", "/start"))
    assert await core.handle(said("8101", "m-2", "/menu"))
    assert await core.handle(said("8101", "m-2", "/menu")) == []  # the same event again
    working = core.store
    core.store = RedisStore.from_url("redis://127.0.0.1:1/0")  # the state store is down
    try:
        replies = await core.handle(said("8101", "m-3", "/menu"))
    finally:
        await core.store.close()
        core.store = working
    assert "gangguan" in replies[0].text  # answered politely, and counted as unavailable
    assert counted("handled") - before["handled"] == 2
    assert counted("duplicate") - before["duplicate"] == 1
    assert counted("unavailable") - before["unavailable"] == 1
    assert counted("failed") == before["failed"]
    assert timed() - times == 4  # every event taken is timed, whatever came of it
