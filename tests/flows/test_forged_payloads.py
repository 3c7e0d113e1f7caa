"""Attacks from a modified client: forged payload arguments on every action, code guessing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import App
from bot.services import identity
from handlers.routers import HOME, ROUTERS
from storage.models import AuditLog
from tests.fakes.chat import Chat
from tests.helpers.forged import FORGED

HR_PHONE = "081200000034"  # Fajar Santoso, the demo HR officer (also an ASN)
STAFF_NIP = "199803132020012001"


def every_action() -> list[tuple[str, str, int]]:
    return sorted(
        (router.name, verb, spec.arity)
        for router in [*ROUTERS, HOME]
        for verb, spec in router.actions.items()
    )


async def test_no_forged_argument_reaches_a_handler_as_an_error(
    demo_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Every action of every router, as HR (who may press the most), with each argument forged:
    a stale-button answer and at most a WARNING — never error.internal or an ERROR line."""
    hr = Chat(demo_app, "6100")
    await hr.share_contact(HR_PHONE)
    assert "berhasil terhubung" in hr.text
    caplog.set_level(logging.WARNING)
    actions = every_action()
    assert len(actions) > 60
    failures = []
    for router, verb, arity in actions:
        for position in range(arity):
            for value in FORGED:
                args = ["1"] * arity
                args[position] = value
                payload = ":".join([router, verb, *args])
                await hr.action(payload)
                if "kesalahan di pihak kami" in hr.text or "gangguan" in hr.text:
                    failures.append(payload)
        # Well-formed ids that name nothing (or someone else's record) are refused politely too.
        for big in ("2147483647", "1"):
            payload = ":".join([router, verb, *([big] * arity)])
            await hr.action(payload)
            if "kesalahan di pihak kami" in hr.text or "gangguan" in hr.text:
                failures.append(payload)
    assert not failures, failures
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [(r.name, r.getMessage()) for r in errors][:5]


async def test_guessing_codes_from_many_chats_trips_the_agency_budget(demo_app: App) -> None:
    budget = demo_app.settings.link_code_agency_failures
    async with demo_app.sessions() as session, session.begin():
        employee = await identity.employee_by_nip(session, 1, STAFF_NIP)
        assert employee is not None
        real, _ = await identity.create_link_code(session, employee, timedelta(hours=1), "test")
    per_chat = demo_app.settings.link_code_attempts
    guesses = 0
    chat_no = 0
    while guesses < budget:
        chat_no += 1
        guesser = Chat(demo_app, f"62{chat_no:03d}")
        await guesser.send("/hubungkan")
        await guesser.press("kode")
        for _ in range(min(per_chat, budget - guesses)):
            await guesser.send("ZZZZ-ZZZZ")
            guesses += 1
    assert chat_no > 1  # the budget is spent across chats, each within its own cap
    # The budget is spent: even the right code is refused, in a new chat, for now.
    late = Chat(demo_app, "6299")
    await late.send("/hubungkan")
    await late.press("kode")
    await late.send(real)
    assert "dihentikan sementara" in late.text
    async with demo_app.sessions() as session:
        trips = list(
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "link_code.budget_tripped")
            )
        )
        assert len(trips) == 1 and trips[0].detail["failures"] == budget
    # Linking by one's own phone still works meanwhile.
    own = Chat(demo_app, "6298")
    await own.share_contact("081200000001")
    assert "berhasil terhubung" in own.text


async def test_a_liaison_opens_only_cases_where_their_document_waits(cli, demo_app) -> None:
    opened = await cli(
        "case", "open", "--nip", "199804212024011004", "--died", "2026-11-19 10:00",
        "--family-name", "Rahmat", "--relation", "child", "--phone", "081377778888",
    )  # fmt: skip
    assert opened.code == 0, opened
    nia = Chat(demo_app, "6500")  # Nia Halim, TASPEN liaison in the demo roster
    await nia.share_contact("081200000036")
    await nia.action("case:show:1")
    assert "Joko Siregar" in nia.text  # the TASPEN book waits: her case
    done = await cli("case", "update", "1", "taspen_book", "ready", "--note", "Rahasia loket 9")
    assert done.code == 0, done
    for payload in ("case:show:1", "case:doc:1:death_certificate", "case:more:1"):
        await nia.action(payload)
        assert "Joko Siregar" not in nia.text and "Rahasia" not in nia.text, payload
        assert "0813" not in nia.text, payload


async def test_wrong_codes_sent_at_the_same_moment_do_not_overshoot_the_budget(
    demo_app: App,
) -> None:
    import asyncio

    budget = demo_app.settings.link_code_agency_failures
    guessers = [Chat(demo_app, f"66{n:03d}") for n in range(budget + 20)]
    for guesser in guessers:
        await guesser.send("/hubungkan")
        await guesser.press("kode")
    await asyncio.gather(*(g.send("ZZZZ-ZZZZ") for g in guessers))
    checked = [g for g in guessers if "tidak dikenal" in g.text]
    locked = [g for g in guessers if "dihentikan sementara" in g.text]
    assert len(checked) == budget and len(locked) == 20
