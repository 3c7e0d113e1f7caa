"""Content files HR edits while Abdi runs (guidance, the privacy notice): read again when they
change on disk, looked at no more than every few seconds, and a broken edit keeps the last good
copy in service instead of taking the content offline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
CHECK_SECONDS = 2.0  # how often at most the files' modification times are looked at
Signature = tuple[tuple[str, int, int], ...]


def signature(paths: Iterable[Path]) -> Signature:
    """(path, mtime, size) of each file that exists: any edit, addition or removal changes it."""
    found = []
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        found.append((str(path), st.st_mtime_ns, st.st_size))
    return tuple(found)


class Reloading(Generic[T]):
    """`read()` of `files()`, kept until the files change.

    `broken` is the error `read` raises for an edit that does not parse; it reaches the caller
    only when there is no good copy yet (then nothing can be served), else `on_broken` hears it.
    """

    def __init__(
        self,
        files: Callable[[], Iterable[Path]],
        read: Callable[[], T],
        broken: type[Exception],
        on_broken: Callable[[Exception], None] = lambda exc: None,
    ) -> None:
        self._files, self._read, self._broken, self._on_broken = files, read, broken, on_broken
        self._value: T | None = None
        self._signature: Signature | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def current(self) -> T:
        now = time.monotonic()
        if self._value is not None and now - self._checked_at < CHECK_SECONDS:
            return self._value
        self._checked_at = now
        seen = signature(self._files())
        if self._value is not None and seen == self._signature:
            return self._value
        try:
            self._swap(self._read(), seen)
        except self._broken as exc:
            if self._value is None:
                raise
            self._on_broken(exc)
            self._signature = seen  # told once per broken edit, not on every look
        assert self._value is not None
        return self._value

    def reload(self) -> T:
        """Read now (an HR action); the `broken` error when the files on disk do not parse."""
        value = self._read()
        self._swap(value, signature(self._files()))
        return value

    def _swap(self, value: T, seen: Signature) -> None:
        with self._lock:
            self._value, self._signature = value, seen
            self._checked_at = time.monotonic()
