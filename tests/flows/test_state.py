"""The StateStore contract, on the in-memory store and on a real Redis (the `store` fixture)."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import date

import pytest

from storage.state import ConversationState, MemoryStore, RedisStore, StateStore


async def redis_ttls(store: RedisStore) -> dict[str, int]:
    """Every key the store owns -> its TTL in seconds (-1: none, -2: gone)."""
    client = store._redis
    keys = [k async for k in client.scan_iter(f"{store._prefix}*")]
    return {k: await client.ttl(k) for k in keys}


# ---------------------------------------------------------------- get / set / clear


async def test_get_set_clear(store: StateStore) -> None:
    assert await store.get("telegram:1") is None
    await store.set("telegram:1", ConversationState("link:await_code", {"tries": 1}), ttl=60)
    await store.set("telegram:2", ConversationState("admin:await_query"), ttl=60)
    assert await store.get("telegram:1") == ConversationState("link:await_code", {"tries": 1})
    assert await store.get("telegram:2") == ConversationState("admin:await_query", {})

    await store.set("telegram:1", ConversationState("home:x", {"a": [1, "dua", None]}), ttl=60)
    assert await store.get("telegram:1") == ConversationState("home:x", {"a": [1, "dua", None]})

    await store.clear("telegram:1")
    await store.clear("telegram:1")  # clearing twice is fine
    await store.clear("never-set")
    assert await store.get("telegram:1") is None
    assert await store.get("telegram:2") is not None


async def test_state_is_a_copy_not_a_shared_object(store: StateStore) -> None:
    data = {"items": [1, 2]}
    await store.set("k", ConversationState("s", data), ttl=60)
    data["items"].append(3)
    first = await store.get("k")
    assert first is not None and first.data == {"items": [1, 2]}
    first.data["items"].append(4)
    second = await store.get("k")
    assert second is not None and second.data == {"items": [1, 2]}


async def test_values_come_back_as_json_would_give_them(store: StateStore) -> None:
    await store.set(
        "k",
        ConversationState("s", {"pair": (1, 2), 7: "seven", "text": "Ω 😀"}),  # type: ignore[dict-item]
        ttl=60,
    )
    assert await store.get("k") == ConversationState(
        "s", {"pair": [1, 2], "7": "seven", "text": "Ω 😀"}
    )


@pytest.mark.parametrize(
    "value",
    [date(2026, 1, 1), {1, 2}, b"bytes", object()],
    ids=["date", "set", "bytes", "object"],
)
async def test_values_that_are_not_json_are_rejected_and_keep_the_old_state(
    store: StateStore, value: object
) -> None:
    await store.set("k", ConversationState("old", {"n": 1}), ttl=60)
    with pytest.raises(TypeError):
        await store.set("k", ConversationState("new", {"bad": value}), ttl=60)
    assert await store.get("k") == ConversationState("old", {"n": 1})
    with pytest.raises(TypeError):
        await store.set("other", ConversationState("new", {"bad": value}), ttl=60)
    assert await store.get("other") is None


async def test_non_finite_floats_behave_the_same(store: StateStore) -> None:
    """Whatever the store does with NaN, memory and Redis must agree: it round-trips as NaN."""
    await store.set("k", ConversationState("s", {"x": math.inf, "y": math.nan}), ttl=60)
    got = await store.get("k")
    assert got is not None and got.data["x"] == math.inf and math.isnan(got.data["y"])


# ---------------------------------------------------------------- first_seen / hit


async def test_first_seen_once_per_key(store: StateStore) -> None:
    assert await store.first_seen("telegram:1", ttl=60) is True
    assert await store.first_seen("telegram:1", ttl=60) is False
    assert await store.first_seen("telegram:1", ttl=60) is False
    assert await store.first_seen("telegram:2", ttl=60) is True
    assert await store.first_seen("whatsapp:1", ttl=60) is True


async def test_first_seen_is_true_exactly_once_under_concurrency(store: StateStore) -> None:
    results = await asyncio.gather(*(store.first_seen("telegram:race", ttl=60) for _ in range(50)))
    assert results.count(True) == 1 and results.count(False) == 49


async def test_first_seen_keys_do_not_touch_conversation_state(store: StateStore) -> None:
    await store.set("telegram:1", ConversationState("s"), ttl=60)
    assert await store.first_seen("telegram:1", ttl=60) is True
    assert await store.hit("telegram:1", ttl=60) == 1
    assert await store.get("telegram:1") == ConversationState("s", {})
    await store.clear("telegram:1")
    assert await store.first_seen("telegram:1", ttl=60) is False


async def test_hit_counts_per_key(store: StateStore) -> None:
    assert [await store.hit("a", ttl=60) for _ in range(3)] == [1, 2, 3]
    assert await store.hit("b", ttl=60) == 1
    assert await store.hit("a", ttl=60) == 4


async def test_hit_counts_every_concurrent_call(store: StateStore) -> None:
    counts = await asyncio.gather(*(store.hit("burst", ttl=60) for _ in range(50)))
    assert sorted(counts) == list(range(1, 51))


# ---------------------------------------------------------------- expiry


async def test_every_key_carries_its_ttl(store: StateStore) -> None:
    await store.set("s", ConversationState("x"), ttl=1)
    assert await store.first_seen("e", ttl=1) is True
    assert await store.hit("h", ttl=1) == 1
    if isinstance(store, MemoryStore):  # the fixture's store runs on the monotonic clock
        now = time.monotonic()
        expiries = [expires for expires, _ in store._items.values()]
        assert len(expiries) == 3 and all(now < e <= now + 1 for e in expiries), expiries
        return
    assert isinstance(store, RedisStore)
    ttls = await redis_ttls(store)
    assert len(ttls) == 3, ttls
    assert all(0 < ttl <= 1 for ttl in ttls.values()), ttls

    await store.set("s", ConversationState("x"), ttl=300)
    await store.hit("h", ttl=300)  # later hits do not extend the first hit's window
    ttls = await redis_ttls(store)
    by_kind = {key.rsplit(":", 2)[-2]: ttl for key, ttl in ttls.items()}
    assert 1 < by_kind["state"] <= 300 and by_kind["hit"] <= 1, ttls


async def test_unhit_gives_a_hit_back_and_never_revives_an_expired_counter(
    store: StateStore,
) -> None:
    assert await store.hit("budget", 60) == 1
    assert await store.hit("budget", 60) == 2
    await store.unhit("budget")
    assert await store.hit("budget", 60) == 2
    await store.unhit("never-hit")
    assert await store.hit("never-hit", 60) == 1
