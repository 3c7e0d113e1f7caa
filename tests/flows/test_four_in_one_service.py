"""4-in-1 rules on a real database with a controllable clock: escalation, merging, the report."""

from __future__ import annotations

import asyncio
import random
import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.services import four_in_one as cases
from bot.services.agencies import ensure_default_agency
from storage.models import Delivery, Employee, FourInOneCase
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    DUKCAPIL_PHONE,
    HR_PHONE,
    OFFICER_PHONE,
    TASPEN_PHONE,
    link,
)

WIB = ZoneInfo("Asia/Jakarta")
DIED = datetime(2026, 11, 19, 10, 0, tzinfo=WIB)
DUE = datetime(2026, 11, 21, 19, 0, tzinfo=WIB)
DESK = {"officer"}


async def _open(app: App, report: cases.Report, now: datetime) -> cases.Opened:
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        return await cases.open_case(
            session, agency, report, actor="test", via="officer", settings=app.settings, now=now
        )


async def _escalate(app: App, now: datetime) -> cases.Escalated:
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        return await cases.escalate_due(session, agency, now)


async def _set(app: App, case_id: int, kind: str, status: str, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        case = await session.get(FourInOneCase, case_id)
        assert case is not None
        await cases.set_document(
            session, case, kind, status, actor="test", roles=DESK, zone="Asia/Jakarta", now=now
        )


async def _staff(chat) -> None:
    for ref, phone in (
        ("8001", OFFICER_PHONE),
        ("8002", HR_PHONE),
        ("8003", TASPEN_PHONE),
        ("8004", DUKCAPIL_PHONE),
    ):
        await link(chat(ref), phone)


async def test_escalation_at_24h_6h_and_overdue_once_each(chat, demo_app, inbox) -> None:
    await _staff(chat)
    opened = await _open(demo_app, cases.Report(DIED, nip=DECEASED_NIP), DIED + timedelta(hours=1))
    case_id = opened.case.id
    assert opened.case.deadline_at == DUE
    quiet = await _escalate(demo_app, DUE - timedelta(hours=24, minutes=1))
    assert (quiet.risk24, quiet.risk6, quiet.overdue) == ([], [], [])
    first = await _escalate(demo_app, DUE - timedelta(hours=23))
    assert first.risk24 == [case_id] and first.notifications == 4
    again = await _escalate(demo_app, DUE - timedelta(hours=22))
    assert again.risk24 == [] and again.notifications == 0
    officer = await inbox("8001")
    assert officer == [
        f"⚠️ Kasus 4-in-1 #{case_id}: kurang dari 24 jam ke target "
        "(Sabtu malam, 21 Nov, pukul 19.00 WIB). Belum siap: Buku tabungan TASPEN, "
        "Akta kematian, Kartu Keluarga (KK) baru, KTP baru."
    ]
    await _set(demo_app, case_id, "taspen_book", "ready", DUE - timedelta(hours=10))
    second = await _escalate(demo_app, DUE - timedelta(hours=5))
    assert second.risk6 == [case_id]
    assert len(await inbox("8003")) == 1  # TASPEN's book is ready: not warned again
    assert len(await inbox("8004")) == 2 and "kurang dari 6 jam" in (await inbox("8004"))[-1]
    late = await _escalate(demo_app, DUE + timedelta(minutes=1))
    assert late.overdue == [case_id] and "melewati target" in (await inbox("8002"))[-1]
    assert (await _escalate(demo_app, DUE + timedelta(hours=5))).overdue == []


async def test_a_case_opened_late_gets_only_the_sharper_warning(chat, demo_app, inbox) -> None:
    await _staff(chat)
    opened = await _open(demo_app, cases.Report(DIED, nip=DECEASED_NIP), DUE - timedelta(hours=5))
    done = await _escalate(demo_app, DUE - timedelta(hours=4))
    assert done.risk6 == [opened.case.id] and done.risk24 == []
    assert (await _escalate(demo_app, DUE - timedelta(hours=3))).notifications == 0
    assert len(await inbox("8001")) == 1


async def test_ready_and_closed_cases_are_not_escalated(chat, demo_app) -> None:
    await _staff(chat)
    opened = await _open(demo_app, cases.Report(DIED, nip=DECEASED_NIP), DIED)
    for kind in cases.DOCUMENTS:
        await _set(demo_app, opened.case.id, kind, "ready", DUE - timedelta(hours=30))
    done = await _escalate(demo_app, DUE + timedelta(hours=1))
    assert done.notifications == 0 and not done.overdue


async def test_escalation_in_parallel_processes_sends_once(chat, demo_app) -> None:
    await _staff(chat)
    for n in range(5):
        await _open(
            demo_app, cases.Report(DIED, deceased_name=f"Almarhum {_word(n)}", unit="Dinas X"), DIED
        )
    now = DUE - timedelta(hours=2)
    results = await asyncio.gather(*(_escalate(demo_app, now) for _ in range(4)))
    assert sorted(i for r in results for i in r.risk6) == [1, 2, 3, 4, 5]
    async with demo_app.sessions() as session:
        sent = await session.scalar(select(func.count()).select_from(Delivery))
    assert sent == 5 * 4  # five cases, four staff each, once


async def test_duplicates_by_name_unit_date_wait_and_confirmed_match_merges(demo_app) -> None:
    """Was: a second report was merged at once and returned the first case. Now it is a pending
    duplicate of its own, pointing at the first case for staff only."""
    by_name = cases.Report(DIED, deceased_name="Alm. Joko  SIREGAR", unit="Sekretariat-Daerah ")
    first = await _open(demo_app, by_name, DIED)
    # The name and unit match the roster, so even a differently spelt report is the same death.
    second = await _open(demo_app, cases.Report(DIED, nip=DECEASED_NIP), DIED)
    assert second.duplicate_of == first.case.id and second.case.id != first.case.id
    assert second.case.status == "duplicate" and second.case.deadline_at == first.case.deadline_at
    other = await _open(
        demo_app, cases.Report(DIED, deceased_name="Siti Aminah", pensioner_number="99-123"), DIED
    )
    again = await _open(
        demo_app,
        cases.Report(
            DIED + timedelta(hours=3), deceased_name="siti aminah", pensioner_number="99123"
        ),
        DIED,
    )
    assert again.duplicate_of == other.case.id
    # Same person, another day: not a duplicate.
    later = cases.Report(
        DIED + timedelta(days=2), deceased_name="Siti Aminah", pensioner_number="99123"
    )
    assert (await _open(demo_app, later, DIED)).duplicate_of is None
    # An unmatched case is confirmed by an officer as the same employee: merged into the first.
    loose = await _open(demo_app, cases.Report(DIED, deceased_name="J. Siregar", unit="?"), DIED)
    await _set(demo_app, loose.case.id, "id_card", "in_progress", DIED)
    async with demo_app.sessions() as session, session.begin():
        joko = await session.scalar(select(Employee).where(Employee.nip == DECEASED_NIP))
        case = await session.get(FourInOneCase, loose.case.id)
        survivor = await cases.confirm_match(session, case, "test", employee=joko)
        assert survivor.id == first.case.id
        assert {d.kind: d.status for d in survivor.documents}["id_card"] == "in_progress"
        assert joko.status == "deceased"
    async with demo_app.sessions() as session:
        found = [await cases.by_code(session, c) for c in (loose.code, second.code)]
        assert [f.id if f else None for f in found] == [first.case.id, second.case.id]
        live = await session.scalar(select(func.count()).where(FourInOneCase.status == "open"))
        assert live == 3
        held = await cases.pending_duplicates(session, first.case.agency_id)
        assert [c.id for c in held] == [second.case.id, again.case.id]


def _word(n: int) -> str:
    """A distinct name part per number (digits are not part of a normalised name)."""
    return "".join(chr(ord("a") + int(d)) for d in str(n))


def _plan(seed: int) -> list[dict]:
    """Cases over three months: when opened, and per document hours until ready (None: never)."""
    rng = random.Random(seed)
    plan = []
    for n in range(24):
        opened = datetime(2026, 9, 1, tzinfo=WIB) + timedelta(hours=rng.randint(0, 24 * 88))
        died = opened - timedelta(hours=rng.randint(0, 30))
        hours = {k: None if rng.random() < 0.15 else rng.randint(1, 90) for k in cases.DOCUMENTS}
        plan.append({"n": n, "opened": opened, "died": died, "ready": hours})
    return plan


async def test_report_figures_match_an_independent_count(demo_app) -> None:
    plan = _plan(4)
    now = datetime(2026, 12, 10, tzinfo=WIB)
    for item in plan:
        report = cases.Report(
            item["died"], deceased_name=f"Pegawai {_word(item['n'])}", unit="Dinas Y"
        )
        opened = await _open(demo_app, report, item["opened"])
        item["due"] = opened.case.deadline_at
        steps = sorted((h, k) for k, h in item["ready"].items() if h is not None)
        for h, kind in steps:
            await _set(demo_app, opened.case.id, kind, "ready", item["opened"] + timedelta(hours=h))
        if len(steps) == 4:
            last = item["opened"] + timedelta(hours=steps[-1][0] + 1)
            for _, kind in steps:
                await _set(demo_app, opened.case.id, kind, "handed_over", last)
            item["handed"] = last
    async with demo_app.sessions() as session:
        got = {m.month: m for m in await cases.report(session, 1, now.astimezone(UTC))}
    months = sorted({i["opened"].strftime("%Y-%m") for i in plan})
    assert sorted(got) == months
    for month in months:
        items = [i for i in plan if i["opened"].strftime("%Y-%m") == month]
        handed = [i for i in items if "handed" in i]
        on_time = sum(1 for i in handed if i["handed"] <= i["due"])
        overdue = sum(1 for i in handed if i["handed"] > i["due"]) + sum(
            1 for i in items if "handed" not in i and i["due"] < now
        )
        figures = got[month]
        assert (figures.cases, figures.on_time, figures.overdue) == (len(items), on_time, overdue)
        for kind in cases.DOCUMENTS:
            values = [i["ready"][kind] for i in items if i["ready"][kind] is not None]
            expected = statistics.median(values) if values else None
            assert figures.median_hours[kind] == (
                None if expected is None else pytest.approx(expected)
            )
    async with demo_app.sessions() as session:
        one = await cases.report(session, 1, now, months[0])
    assert [m.month for m in one] == [months[0]]


async def test_queue_is_most_urgent_first_and_liaisons_see_their_waiting_documents(
    demo_app,
) -> None:
    opened = {}
    for name, days_ago in (("Alpha", 1), ("Beta", 2), ("Gamma", 0)):
        died = DIED - timedelta(days=days_ago)
        report = cases.Report(died, deceased_name=f"Almarhum {name}", unit="Dinas Z")
        opened[name] = (await _open(demo_app, report, died)).case.id
    await _set(demo_app, opened["Beta"], "taspen_book", "ready", DIED)
    async with demo_app.sessions() as session:
        desk = await cases.queue(session, 1, {"officer"})
        taspen = await cases.queue(session, 1, {"taspen"})
        dukcapil = await cases.queue(session, 1, {"dukcapil"})
        second_page = await cases.queue(session, 1, {"hr"}, limit=2, offset=2)
    assert [c.deceased_name for c in desk] == ["Almarhum Beta", "Almarhum Alpha", "Almarhum Gamma"]
    assert [c.deadline_at for c in desk] == sorted(c.deadline_at for c in desk)
    assert [c.deceased_name for c in taspen] == ["Almarhum Alpha", "Almarhum Gamma"]
    assert len(dukcapil) == 3 and [c.deceased_name for c in second_page] == ["Almarhum Gamma"]
