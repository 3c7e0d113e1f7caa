"""Conversation state, update de-duplication and small counters behind one interface.

MemoryStore serves one process; RedisStore lets many processes share it. Every key has a TTL.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis


@dataclass(slots=True)
class ConversationState:
    name: str
    data: dict[str, Any] = field(default_factory=dict)


class StateStore(Protocol):
    async def get(self, key: str) -> ConversationState | None: ...

    async def set(self, key: str, state: ConversationState, ttl: int) -> None: ...

    async def clear(self, key: str) -> None: ...

    async def first_seen(self, event_key: str, ttl: int) -> bool:
        """True exactly once per event key within ttl, atomically across processes."""
        ...

    async def hit(self, key: str, ttl: int) -> int:
        """Increment a counter that expires ttl seconds after its first hit; return the count."""
        ...

    async def unhit(self, key: str) -> None:
        """Take one hit back (a reservation that turned out not to count); expiry unchanged."""
        ...

    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, Any]] = {}

    def _live(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= self._clock():
            del self._items[key]
            return None
        return value

    def _sweep(self) -> None:
        # Amortised cleanup keeps memory bounded without a background task.
        if len(self._items) % 1024 == 0:
            now = self._clock()
            for key in [k for k, (exp, _) in self._items.items() if exp <= now]:
                del self._items[key]

    async def get(self, key: str) -> ConversationState | None:
        raw = self._live(f"state:{key}")
        return ConversationState(raw[0], json.loads(raw[1])) if raw else None

    async def set(self, key: str, state: ConversationState, ttl: int) -> None:
        # Stored as JSON so the memory store rejects what Redis could not hold either.
        self._items[f"state:{key}"] = (self._clock() + ttl, (state.name, json.dumps(state.data)))
        self._sweep()

    async def clear(self, key: str) -> None:
        self._items.pop(f"state:{key}", None)

    async def first_seen(self, event_key: str, ttl: int) -> bool:
        key = f"seen:{event_key}"
        if self._live(key) is not None:
            return False
        self._items[key] = (self._clock() + ttl, True)
        self._sweep()
        return True

    async def hit(self, key: str, ttl: int) -> int:
        full = f"hit:{key}"
        count = (self._live(full) or 0) + 1
        expires = self._items[full][0] if count > 1 else self._clock() + ttl
        self._items[full] = (expires, count)
        return count

    async def unhit(self, key: str) -> None:
        full = f"hit:{key}"
        count = self._live(full)
        if count:
            self._items[full] = (self._items[full][0], count - 1)

    async def close(self) -> None:
        self._items.clear()


_UNHIT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisStore:
    def __init__(self, client: Redis, prefix: str = "abdi:") -> None:
        self._redis = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "abdi:") -> RedisStore:
        return cls(Redis.from_url(url, decode_responses=True), prefix)

    async def ping(self) -> None:
        await self._redis.ping()

    async def get(self, key: str) -> ConversationState | None:
        raw = await self._redis.get(f"{self._prefix}state:{key}")
        if raw is None:
            return None
        name, data = json.loads(raw)
        return ConversationState(name, data)

    async def set(self, key: str, state: ConversationState, ttl: int) -> None:
        payload = json.dumps([state.name, state.data])
        await self._redis.set(f"{self._prefix}state:{key}", payload, ex=ttl)

    async def clear(self, key: str) -> None:
        await self._redis.delete(f"{self._prefix}state:{key}")

    async def first_seen(self, event_key: str, ttl: int) -> bool:
        return bool(await self._redis.set(f"{self._prefix}seen:{event_key}", "1", nx=True, ex=ttl))

    async def hit(self, key: str, ttl: int) -> int:
        full = f"{self._prefix}hit:{key}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(full)
            pipe.expire(full, ttl, nx=True)
            count, _ = await pipe.execute()
        return int(count)

    async def unhit(self, key: str) -> None:
        # Only a live counter goes down: an expired one must not come back as -1 without a TTL.
        await self._redis.eval(_UNHIT, 1, f"{self._prefix}hit:{key}")

    async def close(self) -> None:
        await self._redis.aclose()
