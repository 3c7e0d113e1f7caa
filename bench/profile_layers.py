"""Where the bot's time goes, by layer, from a pyinstrument session of the Telegram benchmark.

Each sample is charged to the innermost frame of ours (or of a library entry point) that names a
layer, so "dedup claim" includes the SQLAlchemy and driver work its INSERT awaits on the event
loop's side. SQLAlchemy's synchronous half runs inside greenlets, whose samples have no caller
above them: they are charged to "SQLAlchemy ORM/Core, sync side" as a whole.

    python -m bench.profile_layers var/profile/telegram-sqlite.pyisession [--updates 2000]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from pyinstrument.session import Session

# (function name, file suffix) -> layer, matched from the innermost frame outwards.
MARKERS: dict[tuple[str, str], str] = {
    ("_claim", "bot/dispatcher.py"): "dedup claim",
    ("_roles", "bot/dispatcher.py"): "role providers",  # before: a query per provider
    ("_account_row", "bot/dispatcher.py"): "account, employee and roles",  # after: one query
    ("_agency", "bot/dispatcher.py"): "agency",
    ("_default_agency", "bot/dispatcher.py"): "agency",
    ("get", "storage/state.py"): "state store",
    ("set", "storage/state.py"): "state store",
    ("clear", "storage/state.py"): "state store",
    ("_context", "bot/dispatcher.py"): "account query (before), context",
    ("main_menu", "bot/routing.py"): "menu composition",
    ("section_menu", "bot/routing.py"): "menu composition",
    ("_route", "bot/dispatcher.py"): "routing and handler",
    ("__aexit__", "sqlalchemy/ext/asyncio/session.py"): "commit",
    ("_notice", "bot/dispatcher.py"): "unit of work, other",
    ("_handle_once", "bot/dispatcher.py"): "unit of work, other",
    ("handled", "bot/metrics.py"): "metrics",
    ("take", "bot/dispatcher.py"): "unit of work, other",
    ("deliver", "bot/channels/telegram.py"): "reply sending (aiogram client)",
    ("_answer", "bot/channels/telegram.py"): "callback answer (aiogram client)",
    ("take", "bot/channels/telegram.py"): "adapter (update -> Inbound)",
    ("take_raw", "bot/channels/telegram_intake.py"): "update parsing (aiogram models)",
    ("_get_updates", "bot/channels/telegram_polling.py"): "polling (getUpdates)",
    ("_take_all", "bot/channels/telegram_polling.py"): "polling (getUpdates)",
    ("poll", "<built-in>"): "idle (waiting in epoll)",
    ("select", "selectors.py"): "idle (waiting in epoll)",
}
GREENLET = "SQLAlchemy ORM/Core, sync side (greenlet)"
OTHER = "event loop and other"


def _frame(identifier: str) -> tuple[str, str]:
    name, _, rest = identifier.partition("\x00")
    path = rest.partition("\x00")[0]
    return name, path


def _layer(stack: list[str]) -> str:
    frames = [_frame(i) for i in stack]
    for name, path in reversed(frames):
        for (marker, suffix), layer in MARKERS.items():
            if name == marker and path.endswith(suffix):
                return layer
    # A greenlet's stack starts at SQLAlchemy's sync code, not at the thread's runpy main.
    if len(frames) > 1 and "sqlalchemy" in frames[1][1]:
        return GREENLET
    return OTHER


def layers(session: Session) -> dict[str, float]:
    """Seconds per layer, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for stack, seconds in session.frame_records:
        totals[_layer(stack)] += seconds
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def table(session: Session, updates: int) -> str:
    totals = layers(session)
    whole = sum(totals.values()) or 1.0
    lines = [f"{'layer':<44} {'share':>6} {'ms/update':>10}"]
    for layer, seconds in totals.items():
        lines.append(
            f"{layer:<44} {seconds / whole:>6.1%} {seconds * 1000 / max(updates, 1):>10.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("session", type=Path)
    parser.add_argument("--updates", type=int, default=0, help="updates in the profiled phase")
    args = parser.parse_args()
    print(table(Session.load(str(args.session)), args.updates))


if __name__ == "__main__":
    main()
