"""The family's entitlements screen, built from the content file (no platform, no database)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.entitlements import Content, Item

KINDS = ("pns", "pppk", "pensioner")
SECTIONS = ("rights", "documents")
# When the case does not say who died, both readings are shown, each under its heading.
READINGS = ("pns", "pensioner")


def _item(t: Translator, item: Item) -> str:
    return t(
        "entitlements.item",
        title=item.title,
        text=item.text,
        ask=item.ask,
        source=item.source,
        url=item.url,
    )


def _listed(t: Translator, head: str, items: list[Item]) -> list[str]:
    return [head, *(_item(t, i) for i in items)] if items else []


def screen(t: Translator, content: Content, kind: str | None) -> str:
    """The rights that follow the death and what to bring: for the known kind of the deceased,
    or each reading under its own heading when the case does not say."""
    parts: list[str] = []
    if kind in KINDS:
        parts += [t(f"entitlements.head.{known}") for known in KINDS if known == kind]
        for section in SECTIONS:
            head = t(f"entitlements.section.{section}")
            parts += _listed(t, head, content.for_kind(kind, section))
    else:
        parts.append(t("entitlements.head.unknown"))
        for reading in READINGS:
            rights = content.for_kind(reading, "rights")
            parts += _listed(t, t(f"entitlements.if.{reading}"), rights)
        documents = [i for i in content.items if i.section == "documents"]
        parts += _listed(t, t("entitlements.section.documents"), documents)
    if content.reviewed:
        parts.append(t("entitlements.reviewed", who=content.reviewed_by, on=content.reviewed_on))
    else:
        parts.append(t("entitlements.general"))
    return "\n\n".join(parts)
