"""JSON logs never show a NIP or a phone number in clear: message, extra fields, tracebacks."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from bot.logs import JsonFormatter

NIP = "199803132020012001"
SPACED_NIP = "19980313 202001 2 001"  # as printed on SK letters and ID cards
PHONES = [
    "081234567890",
    "0812-3456-7890",
    "0812 3456 7890",
    "6281234567890",
    "+6281234567890",
    "+62 812-3456-7890",
    "+62 812 3456 7890",
    "+62-812-3456-7890",
]
SECRETS = [NIP, *PHONES]


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def leaked(line: str) -> list[str]:
    """Which personal numbers can still be read from a log line (its time stamp aside)."""
    payload = json.loads(line)
    payload.pop("at")
    flat = digits(json.dumps(payload))
    found = [s for s in SECRETS if digits(s)[-10:] in flat]
    # Masks keep only the last digits: no run of 8+ digits of a secret may survive.
    found += [s for s in SECRETS if any(digits(s)[i : i + 8] in flat for i in range(3))]
    return sorted(set(found))


def record(msg: str, *args: object, exc: BaseException | None = None, **extra: object) -> str:
    logger = logging.getLogger("abdi.test.logs")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        if exc is not None:
            try:
                raise exc
            except BaseException:
                logger.exception(msg, *args, extra=extra)
        else:
            logger.info(msg, *args, extra=extra)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1, lines  # one JSON object per line, even with a traceback
    return lines[0]


def test_output_is_one_json_object_with_the_basics() -> None:
    line = record("hello %s", "world", channel="telegram", count=3)
    payload = json.loads(line)
    assert payload["msg"] == "hello world"
    assert payload["level"] == "info" and payload["logger"] == "abdi.test.logs"
    assert payload["channel"] == "telegram" and payload["count"] == 3
    assert payload["at"].endswith("+00:00")


def test_nip_in_the_message_is_masked() -> None:
    line = record(f"employee {NIP} viewed")
    payload = json.loads(line)
    assert NIP not in line and not leaked(line)
    assert payload["msg"].endswith("2001 viewed")  # the last digits stay, to tell people apart


def test_nip_as_printed_with_spaces_is_masked() -> None:
    line = record(f"SK untuk NIP. {SPACED_NIP}")
    assert not leaked(line), line
    json.loads(line)


@pytest.mark.parametrize("phone", PHONES)
def test_phone_in_the_message_is_masked(phone: str) -> None:
    line = record(f"contact shared: {phone}.")
    payload = json.loads(line)
    assert phone not in line and not leaked(line), line
    assert payload["msg"].startswith("contact shared: ") and payload["msg"].endswith("890.")


def test_numbers_passed_as_arguments_are_masked() -> None:
    line = record("link %s by %s", NIP, "+62 812 3456 7890")
    assert not leaked(line), line


@pytest.mark.parametrize(
    "extra",
    [
        {"nip": NIP},
        {"phone": "+62 812-3456-7890"},
        {"nip": int(NIP)},
        {"phone": 6281234567890},
        {"employee": {"nip": NIP, "phone": "081234567890"}},
        {"numbers": [NIP, "0812 3456 7890"]},
        {"who": ("guest", 6281234567890)},
    ],
    ids=["str-nip", "str-phone", "int-nip", "int-phone", "dict", "list", "tuple"],
)
def test_numbers_in_extra_fields_are_masked(extra: dict[str, object]) -> None:
    line = record("event", **extra)  # type: ignore[arg-type]
    payload = json.loads(line)
    assert not leaked(line), line
    assert set(extra) <= set(payload)


def test_numbers_in_exception_text_are_masked() -> None:
    error = ValueError(f"no employee with NIP {NIP} or phone +62 812 3456 7890")
    line = record("lookup failed for %s", "081234567890", exc=error)
    payload = json.loads(line)
    assert "ValueError" in payload["exc"] and "Traceback" in payload["exc"]
    assert not leaked(line), line


def test_ordinary_numbers_are_left_alone() -> None:
    line = record("update 123456789 took 250 ms; chat -1001234567890; 2026-11-24", id=987654321)
    payload = json.loads(line)
    assert payload["msg"] == "update 123456789 took 250 ms; chat -1001234567890; 2026-11-24"
    assert payload["id"] == 987654321
