"""Real `abdi` subprocesses for the process tier: start one with its own environment, wait for a
condition, stop it with SIGTERM as a supervisor would."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

import pytest

ABDI = Path(sys.executable).with_name("abdi")
# The tests that keep several long-running `abdi` processes busy at once run one after another on
# one pytest-xdist worker (`--dist loadgroup`, as `make test` runs): side by side on a small
# machine they would starve each other's start-up and rate timings, while the other workers
# take the rest of the suite.
HEAVY = pytest.mark.xdist_group("abdi-processes")
# Settings a test sets itself: none of the developer's own may leak into a subprocess.
OWN = ("DATABASE_", "TELEGRAM_", "WHATSAPP_", "REDIS", "WEBHOOK_", "HEALTH_", "DELIVERY_")


async def start_abdi(
    command: str, env: dict[str, str], stderr: IO[bytes] | None = None
) -> asyncio.subprocess.Process:
    """`abdi COMMAND` in /tmp (no stray .env) with the test's settings over a clean environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    environment |= {"LOG_LEVEL": "WARNING", **env}
    return await asyncio.create_subprocess_exec(
        str(ABDI),
        command,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=environment,
        cwd="/tmp",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 90.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.2)


async def stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM and wait: the process finishes what is on the wire; its exit code."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 40)
    assert process.returncode is not None
    return process.returncode
