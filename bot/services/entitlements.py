"""What a bereaved family is entitled to besides the four documents, and what to bring for each:
content files per locale (locales/<lang>/entitlements/default.toml), replaced whole by an
agency's own file (<agency code>.toml) when it has one, so a desk officer edits and reviews
one file without touching the code.

Every item names its source (a regulation or a public page); content nobody has reviewed is
shown with a line saying it is general information.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT_LOCALE, LOCALES_DIR
from storage.models import Employee, FourInOneCase

PNS, PPPK, PENSIONER, ALL = "pns", "pppk", "pensioner", "all"
KINDS = (PNS, PPPK, PENSIONER)
SECTIONS = ("rights", "documents")


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    kinds: frozenset[str]
    title: str
    text: str
    ask: str
    source: str
    url: str

    def applies_to(self, kind: str) -> bool:
        return ALL in self.kinds or kind in self.kinds


@dataclass(frozen=True)
class Content:
    items: tuple[Item, ...]
    reviewed_by: str
    reviewed_on: str

    @property
    def reviewed(self) -> bool:
        return bool(self.reviewed_by.strip())

    def for_kind(self, kind: str, section: str) -> list[Item]:
        return [i for i in self.items if i.section == section and i.applies_to(kind)]


class ContentError(ValueError):
    """A content file that cannot be shown as written (a missing source, an unknown kind)."""


def _item(raw: dict[str, Any], where: str) -> Item:
    fields = ("id", "section", "title", "text", "ask", "source", "url")
    missing = [f for f in fields if not str(raw.get(f, "")).strip()]
    kinds = frozenset(raw.get("kinds", ()))
    if missing or not kinds or not kinds <= {*KINDS, ALL} or raw["section"] not in SECTIONS:
        raise ContentError(f"{where}: item {raw.get('id')!r} is incomplete {missing or kinds}")
    return Item(
        raw["id"], raw["section"], kinds, raw["title"], raw["text"], raw["ask"], raw["source"],
        raw["url"],
    )  # fmt: skip


def read(path: Path) -> Content:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return Content(
        tuple(_item(raw, path.name) for raw in data.get("item", [])),
        str(data.get("reviewed_by", "")),
        str(data.get("reviewed_on", "")),
    )


@cache
def content(locale: str, agency_code: str, root: Path = LOCALES_DIR) -> Content:
    """The agency's own file if it has one, else the default; in the locale, else Indonesian."""
    for lang in (locale, DEFAULT_LOCALE):
        folder = root / lang / "entitlements"
        for name in (f"{agency_code}.toml", "default.toml"):
            if (folder / name).is_file():
                return read(folder / name)
    return Content((), "", "")


async def kind_of(session: AsyncSession, case: FourInOneCase) -> str | None:
    """Who died, as far as the case knows: a pension number means a pensioner; a roster match
    means an active employee of that kind; otherwise unknown (None)."""
    if case.pensioner_number:
        return PENSIONER
    if case.employee_id is None:
        return None
    employee = await session.get(Employee, case.employee_id)
    kind = employee.kind.lower() if employee is not None else ""
    return kind if kind in KINDS else None
