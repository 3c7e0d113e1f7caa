"""The readable copy of a user's personal data, beside the JSON one (same content, same order)."""

from __future__ import annotations

import json
from typing import Any

from bot.i18n import Translator

SECTIONS = (
    "accounts",
    "employee",
    "ratings_given",
    "guidance_acknowledgements",
    "four_in_one_cases",
    "audit_as_actor",
)


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _item(item: dict[str, Any], t: Translator) -> list[str]:
    return [f"  {t(f'privacy.field.{key}')}: {_value(value)}" for key, value in item.items()]


def render_text(data: dict[str, Any], t: Translator) -> str:
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
            lines.extend(_item(item, t))
        lines.append("")
    return "\n".join(lines)
