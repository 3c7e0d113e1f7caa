"""Figures kept a short while, per database, instead of counted again on every view.

The console's pages count whole tables (every rating of a quarter, every delivery of a
broadcast, the audit log's actions); each page keeps such a figure for some seconds and says so.
One mechanism for all of them: a bounded map whose entries expire at a time on the caller's own
clock (a test moves that clock on instead of waiting).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 1024  # a process serves a few agencies; past this, everything is counted afresh


def database(session: AsyncSession) -> str:
    """Which database a figure was counted in (tests and benches run several in one process)."""
    return str(session.get_bind().engine.url)


class Kept(Generic[K, V]):
    def __init__(self, size: int = MAX_ENTRIES) -> None:
        self._size = size
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K, now: float) -> V | None:
        """The value kept under `key`, unless it expired by `now`."""
        hit = self._entries.get(key)
        return hit[1] if hit is not None and hit[0] > now else None

    def put(self, key: K, value: V, until: float) -> V:
        if len(self._entries) >= self._size and key not in self._entries:
            self._entries.clear()
        self._entries[key] = (until, value)
        return value
