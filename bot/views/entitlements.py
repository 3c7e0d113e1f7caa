"""The family's entitlements screen, built from the content file (no platform, no database)."""

from __future__ import annotations

from bot.i18n import Translator
from bot.services.entitlements import UNKNOWN_KINDS, Content, Item


def _item(t: Translator, item: Item) -> str:
    return t(
        "entitlements.item",
        title=item.title,
        text=item.text,
        ask=item.ask,
        source=item.source,
        url=item.url,
    )


def _section(t: Translator, content: Content, kind: str, section: str) -> list[str]:
    items = content.for_kind(kind, section)
    return [t(f"entitlements.section.{section}"), *(_item(t, i) for i in items)] if items else []


def screen(t: Translator, content: Content, kind: str | None) -> str:
    """The rights that follow the death and what to bring: for the known kind of the deceased,
    or each reading under its own heading when the case does not say."""
    if kind is not None:
        parts = [t(f"entitlements.head.{kind}")]
        parts += _section(t, content, kind, "rights")
        parts += _section(t, content, kind, "documents")
    else:
        parts = [t("entitlements.head.unknown")]
        for reading in UNKNOWN_KINDS:
            parts.append(t(f"entitlements.if.{reading}"))
            parts += _section(t, content, reading, "rights")
        documents = [i for i in content.items if i.section == "documents"]
        if documents:
            parts += [t("entitlements.section.documents"), *(_item(t, i) for i in documents)]
    if content.reviewed:
        parts.append(t("entitlements.reviewed", who=content.reviewed_by, on=content.reviewed_on))
    else:
        parts.append(t("entitlements.general"))
    return "\n\n".join(parts)
