"""Structured (JSON) logs with personal data masked: NIPs and phone numbers never show in clear."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

# 18-digit NIPs and Indonesian phone numbers (08…, 62…, +62…) anywhere in a log line.
# A NIP may be printed in groups, as on SK letters: "19980313 202001 2 001".
_NIP = re.compile(r"(?<!\d)\d{8} ?\d{6} ?(\d) ?(\d{3})(?!\d)")
_PHONE = re.compile(r"(?<![\d])(\+?62[\- ]?|0)8\d{2}[\d\- ]{5,11}(\d{3})(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def mask(text: str) -> str:
    text = _NIP.sub(lambda m: "*" * 14 + m.group(1) + m.group(2), text)
    return _PHONE.sub(lambda m: "08********" + m.group(2), text)


def _scrub(value: object) -> object:
    """Mask inside any extra field: strings, numbers (a NIP kept as an int) and containers."""
    if isinstance(value, str):
        return mask(value)
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        text = str(value)
        return value if mask(text) == text else mask(text)
    if isinstance(value, dict):
        return {mask(str(k)): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(v) for v in value]
    return mask(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = _scrub(value)
        if record.exc_info:
            payload["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def setup(level: str = "INFO", stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiogram logs every update at INFO with user ids; keep it to warnings.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
