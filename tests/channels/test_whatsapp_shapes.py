"""Every collected WhatsApp webhook body (tests/data/whatsapp/, see its README) through the signed
webhook: never a 5xx, never an ERROR line, nothing kept as unreadable, and the outcome its shape
calls for: an answer, a short notice, or nothing (edits, deletions, reactions, groups, system
messages of unknown users, statuses, account and template events)."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.i18n import translator
from storage.models import Account, WebhookDeadLetter
from tests.fakes import fake_graph_api as g
from tests.fakes.chat import WhatsAppHarness
from tests.helpers.privacy_helpers import known_users

DATA = Path(__file__).parents[1] / "data" / "whatsapp"
FILES = sorted(DATA.glob("*.json"))
BODIES = {path.name: path.read_bytes() for path in FILES}  # the exact bytes, signed as they are
SILENT = {"edit", "revoke", "reaction", "system"}


def _address(value: dict[str, Any], message: dict[str, Any]) -> str:
    """Where the answer to a message goes: the sender's user id, else their number."""
    contacts = value.get("contacts") or []
    refs = {message.get("from"), message.get("from_user_id")} - {None}
    contact = next(
        (c for c in contacts if c.get("user_id") in refs or c.get("wa_id") in refs),
        contacts[0] if len(contacts) == 1 else {},
    )
    return str(message.get("from_user_id") or contact.get("user_id") or message.get("from"))


def expected(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(outcome, address) of each message or status of a body, by its shape."""
    out: list[tuple[str, str | None]] = []
    for entry in body["entry"]:
        for change in entry["changes"]:
            value = change["value"]
            if change.get("field") == "user_id_update":
                out += [("ignored", None)] * len(value.get("user_id_update") or [])
            if change.get("field") != "messages":
                continue
            out += [("status", None)] * len(value.get("statuses") or [])
            for message in value.get("messages") or []:
                kind = message.get("type")
                errors = message.get("errors") or value.get("errors")
                if message.get("group_id") or kind in SILENT:
                    out.append(("ignored", None))
                elif kind in ("unsupported", "unknown") or (errors and kind not in message):
                    out.append(("notice", _address(value, message)))
                else:
                    out.append(("answered", _address(value, message)))
    return out


def test_the_folder_has_the_shapes_we_serve() -> None:
    assert len(FILES) >= 50
    kinds = {outcome for raw in BODIES.values() for outcome, _ in expected(json.loads(raw))}
    assert kinds == {"answered", "notice", "ignored", "status"}


async def _count(app: App, model: type) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def _open_windows(wa: WhatsAppHarness, body: dict[str, Any]) -> None:
    """The fake Graph API refuses free text outside the 24-hour window: these users just wrote."""
    for entry in body["entry"]:
        for change in entry["changes"]:
            for message in change["value"].get("messages") or []:
                wa.fake.user_wrote(_address(change["value"], message))


@pytest.mark.parametrize("name", sorted(BODIES), ids=lambda n: n.removesuffix(".json"))
async def test_collected_body(
    wa: WhatsAppHarness, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raw = BODIES[name]
    body = json.loads(raw)
    _open_windows(wa, body)
    assert await wa.post(raw) == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]
    assert await _count(wa.app, WebhookDeadLetter) == 0
    sent = wa.fake.sent()
    outcomes = expected(body)
    for outcome, address in outcomes:
        to = [c for c in sent if c.to == address]
        if outcome == "answered":
            assert to, f"no answer to {address}"
        elif outcome == "notice":
            assert len(to) == 1 and to[0].params["type"] == "text"
            lang = "id" if str(address).startswith(("62", "ID.")) else "en"
            assert to[0].params["text"]["body"] == translator(lang)("whatsapp.unsupported")
    if all(outcome in ("ignored", "status") for outcome, _ in outcomes):
        assert not sent  # nothing said to anyone
    # Media no step asked for is never downloaded.
    assert not [c for c in wa.fake.calls if c.method in ("media_url", "download")]
    # The same bytes again (WhatsApp delivers at least once): no second answer.
    before = len(wa.fake.sent())
    assert await wa.post(raw) == 200
    assert len(wa.fake.sent()) == before


@pytest.mark.parametrize(
    "name", ["text.json", "text_bsuid_no_phone.json", "two_messages_one_change.json"]
)
async def test_collected_body_gzipped(wa: WhatsAppHarness, name: str) -> None:
    """A compressed body is signed as sent (compressed) and read after the check."""
    raw = BODIES[name]
    body = json.loads(raw)
    _open_windows(wa, body)
    packed = gzip.compress(raw)
    headers = {"Content-Encoding": "gzip"}
    assert await wa.post(packed, headers=headers) == 200
    assert {a for _, a in expected(body)} <= {c.to for c in wa.fake.sent()}
    assert await _count(wa.app, WebhookDeadLetter) == 0


async def test_contact_card_carrying_the_senders_wa_id_proves_nothing(wa: WhatsAppHarness) -> None:
    """contacts_card_with_wa_id.json: the card's wa_id is the sender's, its phone another's."""
    body = json.loads(BODIES["contacts_card_with_wa_id.json"])
    _open_windows(wa, body)
    await known_users(wa.app, "972987654321", channel="whatsapp")
    assert await wa.post(g.dumps(body)) == 200
    [answer] = wa.fake.sent("972987654321")
    assert translator("en")("link.not_own").split(",")[0] in str(answer.params)
    async with wa.app.sessions() as session:
        linked = await session.scalar(select(func.count()).where(Account.employee_id.is_not(None)))
    assert linked == 0


async def test_contact_request_without_a_number_offers_the_hr_code(wa: WhatsAppHarness) -> None:
    """contacts_bsuid_contact_request.json: a user without a visible number shares a card."""
    body = json.loads(BODIES["contacts_bsuid_contact_request.json"])
    _open_windows(wa, body)
    assert await wa.post(g.dumps(body)) == 200
    text = json.dumps([c.params for c in wa.fake.sent("US.13491208655302741918")])
    assert "hidden" in text and "code" in text
