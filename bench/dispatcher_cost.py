"""The core's own cost per update, without Telegram: CPU and wall time of `Dispatcher.take`.

Guests (as in the Telegram benchmark) send `/menu` and press `home:help` / `home:language`, one
update at a time, so the figures are the work of one update and its database round trips, not
queueing. CPU is the process's (the SQLite driver's thread included), wall time includes waiting
for the database; both per update, after a warm-up that creates the accounts.

    python -m bench.dispatcher_cost [--updates 2000] [--users 200] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.telegram_throughput import with_database
from bot.app import create_app
from bot.config import Settings
from bot.messages import Channel, Inbound

BUTTONS = ("home:help", "home:language")


def _inbound(n: int, users: int) -> Inbound:
    user = str(1000 + n % users)
    if n % 2 == 0:
        return Inbound(Channel.TELEGRAM, user, user, event_id=f"cost-{n}", text="/menu")
    action = BUTTONS[(n // 2) % 2]
    return Inbound(Channel.TELEGRAM, user, user, event_id=f"cost-{n}", action=action)


async def measure(url: str, kind: str, updates: int, users: int) -> None:
    app = await create_app(Settings(_env_file=None, database_url=url, auto_migrate=True))
    try:
        warm = max(users * 2, updates // 5)
        for n in range(warm):
            await app.dispatcher.take(_inbound(n, users))
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(warm, warm + updates):
            await app.dispatcher.take(_inbound(n, users))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await app.close()
    print(
        f"dispatcher on {kind:<9} updates={updates} users={users} "
        f"CPU {cpu * 1000 / updates:.3f} ms/update, wall {wall * 1000 / updates:.3f} ms/update",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:

        async def run(url: str, kind: str = kind) -> None:
            await measure(url, kind, args.updates, args.users)

        await with_database(kind, run)


if __name__ == "__main__":
    asyncio.run(main())
