"""The privacy notice (UU PDP): one content file per locale, versioned, editable by HR.

Users see the short notice once on first contact and once more whenever the version rises; the
dispatcher compares the version in memory with the one on the already-loaded account row, so the
notice costs no query per update. The files are re-read when they change (checked at most every
few seconds), like the guidance content.
"""

from __future__ import annotations

import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import DEFAULT_LOCALE, LOCALES, LOCALES_DIR

RELOAD_CHECK_SECONDS = 2.0


class NoticeError(Exception):
    pass


@dataclass(frozen=True)
class Notice:
    version: int
    short: str
    full: str

    def short_for(self, agency: str) -> str:
        # replace, not format: a brace HR types into the file must not break the notice.
        return self.short.replace("{agency}", agency)

    def full_for(self, agency: str) -> str:
        return self.full.replace("{agency}", agency)


def _read(path: Path) -> Notice:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        version, short, full = data["version"], data["short"], data["full"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise NoticeError(f"{path}: {exc}") from exc
    if not isinstance(version, int) or version < 1 or not str(short).strip():
        raise NoticeError(f"{path}: version must be a positive integer and short not empty")
    return Notice(version, str(short).strip(), str(full).strip())


class Notices:
    """The notice of every locale; the version that counts is the highest of them."""

    def __init__(self, root: Path = LOCALES_DIR) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._signature: tuple[tuple[str, int], ...] = ()
        self._notices: dict[str, Notice] = {}

    def _paths(self) -> list[Path]:
        return [self.root / lang / "privacy" / "notice.toml" for lang in LOCALES]

    def _current(self) -> dict[str, Notice]:
        now = time.monotonic()
        if self._notices and now - self._checked_at < RELOAD_CHECK_SECONDS:
            return self._notices
        signature = tuple(
            (str(p), p.stat().st_mtime_ns if p.exists() else 0) for p in self._paths()
        )
        with self._lock:
            self._checked_at = now
            if not self._notices or signature != self._signature:
                try:
                    self._notices = {
                        lang: _read(p)
                        for lang, p in zip(LOCALES, self._paths(), strict=True)
                        if p.exists()
                    }
                except NoticeError:
                    if not self._notices:
                        raise
                    # A broken edit keeps the last good notice until it is mended.
                self._signature = signature
        return self._notices

    @property
    def version(self) -> int:
        return max(n.version for n in self._current().values())

    def notice(self, locale: str) -> Notice:
        notices = self._current()
        return notices.get(locale) or notices[DEFAULT_LOCALE]


NOTICES = Notices()
