"""Structured (JSON) logs with personal data masked: NIPs and phone numbers never appear in clear."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

# 18-digit NIPs and Indonesian phone numbers (08…, 62…, +62…) anywhere in a log line.
_NIP = re.compile(r"(?<!\d)\d{14}(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\d])(\+?62|0)8\d{2}[\d\- ]{5,11}(\d{3})(?!\d)")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def mask(text: str) -> str:
    text = _NIP.sub(lambda m: "*" * 14 + m.group(1), text)
    return _PHONE.sub(lambda m: "08********" + m.group(2), text)


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
                payload[key] = mask(str(value)) if isinstance(value, str) else value
        if record.exc_info:
            payload["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


def setup(level: str = "INFO", stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiogram logs every update at INFO with user ids; keep it to warnings.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
