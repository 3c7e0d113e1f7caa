"""The readable copy of a user's personal data, beside the JSON one (same content, same order)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot import dates
from bot.i18n import Translator

SECTIONS = (
    "accounts",
    "employee",
    "ratings_given",
    "guidance_acknowledgements",
    "four_in_one_cases",
    "audit_as_actor",
)

# Every field the copy names (bot/services/personal_data.py), each with its label in the catalog.
FIELDS = (
    "channel",
    "user_ref",
    "locale",
    "linked_at",
    "last_inbound_at",
    "created_at",
    "notice_version",
    "notice_seen_at",
    "nip",
    "name",
    "position",
    "unit",
    "kind",
    "phone",
    "status",
    "roles",
    "period",
    "ratee_nip",
    "ratee_name",
    "relation",
    "scores",
    "comment",
    "rated_at",
    "topic",
    "version",
    "at",
    "case",
    "deceased_name",
    "died_at",
    "deadline_at",
    "reported_by_me",
    "documents",
    "my_contact",
    "action",
    "target",
    "detail",
)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    raise TypeError(type(value).__name__)


def render_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, default=_iso).encode()


# Stored codes shown in the user's words: the catalog families that already name them on the
# chat's own screens, tried in order (a code no family knows is shown as stored).
WORDS = {
    "relation": ("four_in_one.relation.{}", "rating.relation.{}"),
    "status": ("four_in_one.stage.{}", "four_in_one.status.{}"),
    "kind": ("four_in_one.doc.{}",),
    "criterion": ("rating.criterion.{}",),
}


def _word(field: str, code: str, t: Translator) -> str:
    for family in WORDS.get(field, ()):
        key = family.format(code)
        said = t(key)
        if said != key:
            return said
    return code


def _value(key: str, value: Any, t: Translator, zone: str) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, datetime):
        return dates.moment(value, zone, t)
    if isinstance(value, bool):
        return t("privacy.yes" if value else "privacy.no")
    if key == "scores" and isinstance(value, dict):
        return ", ".join(f"{_word('criterion', k, t)} {v}" for k, v in value.items())
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(k, v, t, zone)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_nested(v, t, zone) for v in value)
    return _word(key, value, t) if isinstance(value, str) else str(value)


def _nested(value: Any, t: Translator, zone: str) -> str:
    """One entry of a list (a document, a contact) on one line, in the user's words."""
    if not isinstance(value, dict):
        return _value("", value, t, zone)
    return ", ".join(_value(k, v, t, zone) for k, v in value.items() if v not in (None, ""))


def _item(item: dict[str, Any], t: Translator, zone: str) -> list[str]:
    return [
        f"  {t(f'privacy.field.{key}')}: {_value(key, value, t, zone)}"
        for key, value in item.items()
    ]


def render_text(data: dict[str, Any], t: Translator, zone: str) -> str:
    lines = [t("privacy.file_title"), ""]
    for section in SECTIONS:
        if section not in data:
            continue
        lines.append(t(f"privacy.section.{section}"))
        content = data[section]
        items = content if isinstance(content, list) else [content]
        if not items:
            lines.append("  " + t("privacy.none"))
        for n, item in enumerate(items, 1):
            if len(items) > 1:
                lines.append(f" {n}.")
            lines.extend(_item(item, t, zone))
        lines.append("")
    return "\n".join(lines)
