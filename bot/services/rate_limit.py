"""A sending limiter shared by every drain: messages/s per bot and a minimum gap per chat.

GCRA (generic cell rate algorithm) without burst: each send reserves the next free slot of the
bot ("theoretical arrival time" + 1/rate) unless the chat itself is still inside its interval.
MemoryLimiter serves one process; RedisLimiter runs the same rule as one Lua script, atomically,
on Redis's own clock, so all processes and hosts share one budget per bot. A drain reserves a
whole wave in one call (`reserve_many`: one lock, one Redis round trip) and then sends each
message at its own slot (`reserve_slots`): a wave sent at once at its last slot would put a
wave's worth of messages above the rate into some second, and sleeping before each reservation
would lose each sleep's overshoot from the rate.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

# Reserve at most this far ahead: a 429 pause must still catch most senders before their slot.
HORIZON = 1.0


@dataclass(frozen=True, slots=True)
class Grant:
    delay: float  # seconds to wait
    reserved: bool  # True: send after `delay`; False: ask again after `delay`


class Limiter(Protocol):
    async def reserve(self, bucket: str, rate: float, chat: str, interval: float) -> Grant: ...

    async def reserve_many(
        self, bucket: str, rate: float, chats: list[str], interval: float
    ) -> list[Grant]:
        """`reserve` for each chat in turn, at once; one grant per chat, in order."""
        ...

    async def pause(self, bucket: str, seconds: float) -> None:
        """Nobody sends on this bucket for `seconds` (the platform said 429 retry_after)."""
        ...

    async def close(self) -> None: ...


async def acquire(limiter: Limiter, bucket: str, rate: float, chat: str, interval: float) -> None:
    """Wait until one message to `chat` may go out on `bucket`."""
    while True:
        grant = await limiter.reserve(bucket, rate, chat, interval)
        if grant.delay > 0:
            await asyncio.sleep(grant.delay)
        if grant.reserved:
            return


async def reserve_slots(
    limiter: Limiter, bucket: str, rate: float, chats: list[str], interval: float
) -> list[float]:
    """Reserve one slot per chat on `bucket` (a chat named twice gets two, its interval apart):
    the event loop time at which each message may go, in the order of `chats`. Waits only while
    a chat is inside its interval or the bucket is booked beyond the horizon."""
    loop = asyncio.get_running_loop()
    slots = [0.0] * len(chats)
    waiting = list(range(len(chats)))
    while waiting:
        grants = await limiter.reserve_many(bucket, rate, [chats[i] for i in waiting], interval)
        now = loop.time()
        later: list[tuple[int, float]] = []
        for i, grant in zip(waiting, grants, strict=True):
            if grant.reserved:
                slots[i] = now + grant.delay
            else:
                later.append((i, grant.delay))
        waiting = [i for i, _ in later]
        if later:
            await asyncio.sleep(min(delay for _, delay in later))
    return slots


async def sleep_until(when: float) -> None:
    """Sleep until the event loop's clock reads `when` (no sleep if it has passed)."""
    delay = when - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


class SendWindow:
    """At most `rate` sends in any one second, counted as they leave this process.

    The shared limiter books slots; a send may still leave late (a busy event loop, a database
    round trip), and late sends catching up would put more than the rate into some second, which
    is what a platform counting sends per second sees. This window holds a send back until the
    last second has room for it, so catching up never goes above the rate."""

    def __init__(self, rate: float) -> None:
        self.limit = max(1, int(rate))
        self._sent: deque[float] = deque()

    async def admit(self, count: int) -> None:
        """Wait until `count` more sends fit into the last second, and count them."""
        loop = asyncio.get_running_loop()
        count = min(count, self.limit)
        while True:
            now = loop.time()
            while self._sent and self._sent[0] <= now - 1.0:
                self._sent.popleft()
            excess = len(self._sent) + count - self.limit
            if excess <= 0:
                self._sent.extend([now] * count)
                return
            await asyncio.sleep(self._sent[excess - 1] + 1.0 - now)


def decide(
    now: float, tat: float, chat_next: float, rate: float, interval: float
) -> tuple[Grant, float, float]:
    """The GCRA step: (grant, new bot tat, new chat next) — pure, shared by the memory limiter."""
    if chat_next > now:
        return Grant(chat_next - now, False), tat, chat_next
    start = max(tat, now)
    if start - now > HORIZON:
        return Grant(start - now - HORIZON, False), tat, chat_next
    return Grant(start - now, True), start + 1.0 / rate, start + interval


class MemoryLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tat: dict[str, float] = {}
        self._chats: dict[tuple[str, str], float] = {}
        self._lock = asyncio.Lock()

    async def reserve(self, bucket: str, rate: float, chat: str, interval: float) -> Grant:
        return (await self.reserve_many(bucket, rate, [chat], interval))[0]

    async def reserve_many(
        self, bucket: str, rate: float, chats: list[str], interval: float
    ) -> list[Grant]:
        async with self._lock:
            now = self._clock()
            grants = []
            for chat in chats:
                key = (bucket, chat)
                grant, tat, chat_next = decide(
                    now, self._tat.get(bucket, 0.0), self._chats.get(key, 0.0), rate, interval
                )
                self._tat[bucket] = tat
                if grant.reserved:
                    self._chats[key] = chat_next
                grants.append(grant)
            if len(self._chats) > 50_000:  # forget chats whose gap has passed
                self._chats = {k: v for k, v in self._chats.items() if v > now}
            return grants

    async def pause(self, bucket: str, seconds: float) -> None:
        async with self._lock:
            self._tat[bucket] = max(self._tat.get(bucket, 0.0), self._clock() + seconds)

    async def close(self) -> None:
        return None


# KEYS[1] the bot's tat, KEYS[2..] one chat each: a flat {delay, reserved, ...} per chat.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local emission, interval, horizon = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local out = {}
for i = 2, #KEYS do
  local chat_next = tonumber(redis.call('GET', KEYS[i]) or '0')
  local start = math.max(tat, now)
  if chat_next > now then
    out[#out + 1] = tostring(chat_next - now); out[#out + 1] = 0
  elseif start - now > horizon then
    out[#out + 1] = tostring(start - now - horizon); out[#out + 1] = 0
  else
    tat = start + emission
    if interval > 0 then
      redis.call('SET', KEYS[i], tostring(start + interval), 'PX',
                 math.ceil((start + interval - now) * 1000) + 1)
    end
    out[#out + 1] = tostring(start - now); out[#out + 1] = 1
  end
end
redis.call('SET', KEYS[1], tostring(tat), 'PX', math.ceil(math.max(0, tat - now) * 1000) + 60000)
return out
"""

_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local until_ = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > tat then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 60000)
end
return 1
"""


class RedisLimiter:
    def __init__(self, client: Redis, prefix: str = "abdi:") -> None:
        self._redis = client
        self._prefix = prefix
        self._reserve = client.register_script(_RESERVE)
        self._pause = client.register_script(_PAUSE)

    @classmethod
    def from_url(cls, url: str, prefix: str = "abdi:") -> RedisLimiter:
        return cls(Redis.from_url(url, decode_responses=True), prefix)

    def _key(self, bucket: str) -> str:
        return f"{self._prefix}rl:{bucket}"

    async def reserve(self, bucket: str, rate: float, chat: str, interval: float) -> Grant:
        return (await self.reserve_many(bucket, rate, [chat], interval))[0]

    async def reserve_many(
        self, bucket: str, rate: float, chats: list[str], interval: float
    ) -> list[Grant]:
        key = self._key(bucket)
        flat = await self._reserve(
            keys=[key, *(f"{key}:c:{chat}" for chat in chats)], args=[1.0 / rate, interval, HORIZON]
        )
        return [
            Grant(max(0.0, float(flat[i])), bool(int(flat[i + 1]))) for i in range(0, len(flat), 2)
        ]

    async def pause(self, bucket: str, seconds: float) -> None:
        await self._pause(keys=[self._key(bucket)], args=[seconds])

    async def close(self) -> None:
        await self._redis.aclose()


def limiter_for(redis_url: str | None) -> Limiter:
    return RedisLimiter.from_url(redis_url) if redis_url else MemoryLimiter()
