"""gettext catalogs (Babel) with symbolic message ids: every user-facing string lives in locales/.

Catalogs are compiled by `make` / `pybabel compile`; a missing or stale .mo is compiled in memory
from its .po so that a fresh clone works without a build step.
"""

from __future__ import annotations

import gettext
import io
from functools import cache

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.config import ROOT

LOCALES_DIR = ROOT / "locales"
DOMAIN = "messages"
LOCALES = ("id", "en")
DEFAULT_LOCALE = "id"


def _load(locale: str) -> gettext.GNUTranslations:
    base = LOCALES_DIR / locale / "LC_MESSAGES"
    po, mo = base / f"{DOMAIN}.po", base / f"{DOMAIN}.mo"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Translator:
    """Looks a message id up in one locale, falling back to Indonesian, then to the id itself."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._primary = _catalog(self.locale)
        self._fallback = _catalog(DEFAULT_LOCALE)

    def __call__(self, key: str, /, **params: object) -> str:
        text = self._primary.gettext(key)
        if text == key:
            text = self._fallback.gettext(key)
        return text.format(**params) if params else text

    def plural(self, key: str, count: int, /, **params: object) -> str:
        text = self._primary.ngettext(key, key + ".plural", count)
        return text.format(count=count, **params)


@cache
def _catalog(locale: str) -> gettext.GNUTranslations:
    return _load(locale)


@cache
def translator(locale: str) -> Translator:
    return Translator(locale)


def catalog_keys(locale: str) -> set[str]:
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as fh:
        return {m.id for m in read_po(fh) if m.id and isinstance(m.id, str)}


def resolve_locale(chosen: str | None, hint: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The user's choice, else the platform's language hint, else the configured default."""
    if chosen in LOCALES:
        return chosen
    if hint:
        primary = hint.replace("_", "-").split("-", 1)[0].lower()
        primary = "id" if primary == "in" else primary  # old ISO code for Indonesian
        if primary in LOCALES:
            return primary
    return default if default in LOCALES else DEFAULT_LOCALE


def reload() -> None:
    """Drop cached catalogs (after an edit of locales/)."""
    _catalog.cache_clear()
    translator.cache_clear()


__all__ = ["LOCALES", "Translator", "catalog_keys", "reload", "resolve_locale", "translator"]
