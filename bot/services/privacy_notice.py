"""The privacy notice (UU PDP): one content file per locale, versioned, editable by HR.

Users see the short notice once on first contact and once more whenever the version rises; the
dispatcher compares the version in memory with the one on the already-loaded account row, so the
notice costs no query per update. The files are re-read when they change (checked at most every
few seconds), like the guidance content.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import DEFAULT_LOCALE, LOCALES, LOCALES_DIR
from bot.services.reloading import Reloading


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
        self._notices = Reloading(self._paths, self._read_all, NoticeError)

    def _paths(self) -> list[Path]:
        return [self.root / lang / "privacy" / "notice.toml" for lang in LOCALES]

    def _read_all(self) -> dict[str, Notice]:
        paths = zip(LOCALES, self._paths(), strict=True)
        return {lang: _read(path) for lang, path in paths if path.exists()}

    @property
    def version(self) -> int:
        return max(n.version for n in self._notices.current().values())

    def notice(self, locale: str) -> Notice:
        notices = self._notices.current()
        return notices.get(locale) or notices[DEFAULT_LOCALE]


NOTICES = Notices()
