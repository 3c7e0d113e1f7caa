"""The in-memory state store's expiry, on a fake clock (the store contract on memory and Redis
is in tests/flows/test_state.py)."""

from __future__ import annotations

from storage.state import ConversationState, MemoryStore


async def test_every_key_kind_expires_in_memory() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.set("s", ConversationState("x"), ttl=10)
    assert await store.first_seen("e", ttl=20) is True
    assert await store.hit("h", ttl=30) == 1

    clock.advance(9.5)
    assert await store.get("s") is not None
    assert await store.first_seen("e", ttl=20) is False
    assert await store.hit("h", ttl=30) == 2

    clock.advance(0.5)  # 10 s: the state is gone, the rest live on
    assert await store.get("s") is None
    assert await store.first_seen("e", ttl=20) is False

    clock.advance(10)  # 20 s: the event may be seen again
    assert await store.first_seen("e", ttl=20) is True
    assert await store.hit("h", ttl=30) == 3

    clock.advance(10)  # 30 s after the first hit: the window restarts
    assert await store.hit("h", ttl=30) == 1


async def test_memory_set_renews_the_state_ttl_but_hits_do_not_extend_the_window() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    await store.set("s", ConversationState("x"), ttl=10)
    clock.advance(8)
    await store.set("s", ConversationState("y"), ttl=10)
    clock.advance(8)
    assert await store.get("s") == ConversationState("y", {})
    assert await store.hit("h", ttl=10) == 1
    for _ in range(5):
        clock.advance(1.5)
        await store.hit("h", ttl=10)
    clock.advance(2.5)  # 10 s after the first hit, although the last was 2.5 s ago
    assert await store.hit("h", ttl=10) == 1


async def test_memory_forgets_expired_keys_it_is_never_asked_about() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock)
    for n in range(3000):
        await store.first_seen(f"event:{n}", ttl=1)
        clock.advance(0.01)
    clock.advance(5)
    for n in range(3000, 6000):
        await store.first_seen(f"event:{n}", ttl=1)
        clock.advance(0.01)
    assert len(store._items) < 4000  # the first 3000 are long expired


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
