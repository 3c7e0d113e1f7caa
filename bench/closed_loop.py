"""What the throughput benchmarks share: the driver child process and the figures line."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any


async def spawn_driver(module: str, *args: str) -> asyncio.subprocess.Process:
    """`python -m <module> --drive ARGS` with pipes; the result line carries every latency."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        "--drive",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,
    )
    assert child.stdout is not None and child.stdin is not None
    return child


async def finish(child: asyncio.subprocess.Process) -> None:
    """Closing its stdin tells the driver that our side has stopped."""
    assert child.stdin is not None
    child.stdin.close()
    await child.wait()


def report(name: str, result: dict[str, Any], users: int, unit: str) -> float:
    """Print one line of figures (count, rate, p50, p99); return the rate."""
    latencies: list[float] = result["latencies"]
    rate = len(latencies) / result["elapsed"]
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {unit}s={len(latencies)} users={users} rate={rate:,.0f} {unit}/s "
        f"p50={q[49]:.1f} ms p99={q[98]:.1f} ms",
        flush=True,
    )
    return rate


class Answers:
    """Futures keyed by user: a step waits for the fake server to see the answer to that user."""

    def __init__(self) -> None:
        self.waiting: dict[Any, asyncio.Future[float]] = {}

    def expect(self, key: Any) -> asyncio.Future[float]:
        self.waiting[key] = asyncio.get_running_loop().create_future()
        return self.waiting[key]

    def seen(self, key: Any, at: float) -> None:
        future = self.waiting.get(key)
        if future is not None and not future.done():
            future.set_result(at)

    async def latency(self, key: Any, send: Awaitable[Any]) -> float:
        """Milliseconds from sending to the answer for `key`."""
        answer = self.expect(key)
        sent = time.monotonic()
        await send
        return (await asyncio.wait_for(answer, 60) - sent) * 1000


async def closed_loop(
    users: int,
    total: int,
    step: Callable[[int, int], Awaitable[float]],
    listeners: list[Callable[[Any], None]],
    listen: Callable[[Any], None],
) -> tuple[float, list[float]]:
    """Each user runs `step(uid, n)` (send, wait for the answer: latency in ms) in turn, while
    `listen` watches the fake server's calls."""
    latencies: list[float] = []

    async def user(uid: int) -> None:
        for n in range(total // users):
            latencies.append(await step(uid, n))

    listeners.append(listen)
    try:
        started = time.monotonic()
        await asyncio.gather(*(user(100_000 + i) for i in range(users)))
        return time.monotonic() - started, latencies
    finally:
        listeners.remove(listen)


def arguments(doc: str, count: str, default_count: int, default_users: int) -> argparse.Namespace:
    """--<count> N --users N --db sqlite|postgres|both, and the hidden --drive of the child."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument(f"--{count}", dest="count", type=int, default=default_count)
    parser.add_argument("--users", type=int, default=default_users)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()
