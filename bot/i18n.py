"""gettext catalogs (Babel) with symbolic message ids: every user-facing string lives in locales/.

Catalogs are compiled by `make` / `pybabel compile`; a missing or stale .mo is compiled in memory
from its .po so that a fresh clone works without a build step.
"""

from __future__ import annotations

import gettext
import io
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from bot.config import LOCALES, ROOT

LOCALES_DIR = ROOT / "locales"
DEFAULT_LOCALE = "id"


def _compile(po: Path, locale: str) -> bytes:
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale, domain=po.stem)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    return buffer.getvalue()


def _load(locale: str) -> gettext.NullTranslations:
    """Every catalog of a locale (one .po per capability) chained into one lookup."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    first: gettext.NullTranslations | None = None
    for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            data = mo.read_bytes()
        else:
            data = _compile(po, locale)
        part = gettext.GNUTranslations(io.BytesIO(data))
        if first is None:
            first = merged = part
        else:
            merged.add_fallback(part)
    return merged


def compile_all() -> list[Path]:
    """Write a .mo beside every .po (what `make` runs at install time)."""
    written = []
    for locale in LOCALES:
        for po in sorted((LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po")):
            po.with_suffix(".mo").write_bytes(_compile(po, locale))
            written.append(po)
    return written


class Translator:
    """Looks a message id up in one locale, falling back to Indonesian, then to the id itself."""

    def __init__(self, locale: str) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._primary = _catalog(self.locale)
        self._fallback = _catalog(DEFAULT_LOCALE)
        # Catalogs do not change in a running process, and a lookup walks the chain of one
        # catalog per capability (then Indonesian's): a menu costs a dozen lookups per update.
        self._texts: dict[str, str] = {}

    def __call__(self, key: str, /, **params: object) -> str:
        text = self._texts.get(key)
        if text is None:
            text = self._primary.gettext(key)
            if text == key:
                text = self._fallback.gettext(key)
            self._texts[key] = text
        return text.format(**params) if params else text

    def decimal(self, value: float | Decimal, places: int = 2) -> str:
        """A number as the user's language writes it: 4,50 in Indonesian, 4.50 in English."""
        return format_decimal(value, format="0." + "0" * places, locale=self.locale)

    def plural(self, key: str, count: int, /, **params: object) -> str:
        text = self._primary.ngettext(key, key + ".plural", count)
        return text.format(count=count, **params)


@cache
def _catalog(locale: str) -> gettext.NullTranslations:
    return _load(locale)


@cache
def translator(locale: str) -> Translator:
    return Translator(locale)


def catalog_keys(locale: str) -> set[str]:
    keys: set[str] = set()
    for po in (LOCALES_DIR / locale / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            # A plural message is named by its singular id (Translator.plural).
            keys |= {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    return keys


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


if __name__ == "__main__":
    for path in compile_all():
        print(f"compiled {path.relative_to(LOCALES_DIR)}")
