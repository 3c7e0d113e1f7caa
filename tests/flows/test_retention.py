"""Retention on a real database (SQLite and PostgreSQL), the clock moved forward: exactly the rows
past each limit go (those just inside stay, an open case's contacts stay), in small batches, and
the broadcast and 4-in-1 reports give the same totals afterwards. `abdi retention` lists without
changing anything, and removes what it listed once told to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot import jobs
from bot.app import App
from bot.i18n import translator
from bot.services import four_in_one as cases
from bot.services import retention
from bot.services.agencies import ensure_default_agency
from bot.services.broadcasting import broadcasts
from bot.services.broadcasting import report as broadcast_report
from bot.services.broadcasting.audiences import Audience
from bot.services.four_in_one import sla_report
from storage.models import (
    Account,
    AuditLog,
    Base,
    Broadcast,
    BroadcastTally,
    CaseContact,
    CaseDocument,
    CaseEvent,
    Delivery,
    EarlyStatus,
    Employee,
    FourInOneCase,
    InboundEvent,
    LinkCode,
    LoginCode,
    WebhookDeadLetter,
    WebSession,
)
from storage.statuses import BroadcastStatus, CaseStatus, DocumentStatus
from tests.helpers.delivery_helpers import link_all

HOUR = timedelta(hours=1)
PDF = b"%PDF-1.4 surat edaran"


class Clock:
    """The run's "now", ten days ahead, and the moments just past and just inside each limit."""

    def __init__(self, app: App) -> None:
        self.settings = app.settings
        self.start = datetime.now(UTC)
        self.later = self.start + timedelta(days=10)

    def limit(self, name: str) -> datetime:
        category = next(c for c in retention.CATEGORIES if c.name == name)
        return self.later - timedelta(days=category.days(self.settings))

    def past(self, name: str) -> datetime:
        return self.limit(name) - HOUR

    def inside(self, name: str) -> datetime:
        return self.limit(name) + HOUR


async def _keys(app: App, column: Any) -> set[Any]:
    async with app.sessions() as session:
        return set(await session.scalars(select(column)))


async def _all_rows(app: App) -> dict[str, int]:
    async with app.sessions() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def _guest(agency_id: int, ref: str, last: datetime) -> Account:
    return Account(
        agency_id=agency_id,
        channel="whatsapp",
        user_ref=ref,
        chat_ref=ref,
        last_inbound_at=last,
        created_at=last - timedelta(days=1),
    )


async def _broadcast(
    app: App, agency: Any, outcomes: list[tuple[str, str]], ended: datetime
) -> int:
    """A broadcast to the first linked employees, released and finished with these outcomes."""
    async with app.sessions() as session, session.begin():
        sent = await broadcasts.create(
            session,
            agency,
            Audience.from_json({"kind": "everyone"}),
            actor="test",
            text="Apel hari Senin.",
            attachment=("edaran.pdf", "application/pdf", PDF),
        )
        await broadcasts.release(session, sent, ended - timedelta(days=1))
        rows = list(
            await session.scalars(
                select(Delivery).where(Delivery.broadcast_id == sent.id).order_by(Delivery.id)
            )
        )
        for delivery, (status, error) in zip(rows, outcomes, strict=False):
            delivery.status, delivery.error, delivery.updated_at = status, error, ended
        for delivery in rows[len(outcomes) :]:
            delivery.status, delivery.updated_at = "sent", ended
        sent.status, sent.finished_at = BroadcastStatus.DONE, ended
        return sent.id


async def _case(
    app: App,
    agency: Any,
    name: str,
    clock: Clock,
    *,
    closed_at: datetime | None,
    status: CaseStatus = CaseStatus.CLOSED,
    account: Account | None = None,
) -> int:
    """A case reported by a family chat (or an officer), with a phone, notes and ready documents;
    closed at `closed_at` when given."""
    report = cases.Report(
        died_at=clock.start - timedelta(days=200),
        deceased_name=name,
        unit="Dinas Kesehatan",
        contact_name="Sri",
        relation="spouse",
        phone="081299990000",
    )
    opened_at = clock.start - timedelta(days=199)
    async with app.sessions() as session, session.begin():
        opened = await cases.open_case(
            session,
            agency,
            report,
            actor="test",
            via="family" if account else "officer",
            settings=app.settings,
            account=account,
            now=opened_at,
        )
        case = opened.case
        for hours, doc in enumerate(case.documents, start=5):
            doc.status, doc.ready_at = DocumentStatus.HANDED_OVER, opened_at + hours * HOUR
            doc.note = "diambil Bu Sri di Jl. Melati 3"
        session.add(
            CaseEvent(case_id=case.id, kind="note", note="anak: 0812 7777", actor="x", at=opened_at)
        )
        if closed_at is not None:
            case.status, case.closed_at, case.handed_over_at = status, closed_at, opened_at
        else:
            case.status = CaseStatus.READY
        return case.id


async def test_retention_removes_exactly_what_is_past_its_limit_and_reports_hold(
    demo_app: App,
) -> None:
    app = demo_app
    clock = Clock(app)
    app.settings = app.settings.model_copy(update={"retention_batch": 2})  # several batches
    t = translator("id")
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        session.add_all(
            [
                WebhookDeadLetter(
                    channel="whatsapp",
                    reason="bad json",
                    body=f"+6281{n}",
                    raw=b"x",
                    received_at=at,
                )
                for n, at in enumerate(
                    [clock.past("dead_letters"), clock.inside("dead_letters")] * 3
                )
            ]
        )
        session.add_all(
            [
                InboundEvent(event_id="whatsapp:old", received_at=clock.past("inbound_events")),
                InboundEvent(event_id="whatsapp:new", received_at=clock.inside("inbound_events")),
                EarlyStatus(platform_id="wamid.old", status="read"),
                EarlyStatus(platform_id="wamid.new", status="read"),
            ]
        )
        guests = {
            "old": _guest(agency.id, "62811000001", clock.past("guest_accounts")),
            "new": _guest(agency.id, "62811000002", clock.inside("guest_accounts")),
            "open_case": _guest(agency.id, "62811000003", clock.past("guest_accounts")),
            "closed_case": _guest(agency.id, "62811000004", clock.past("guest_accounts")),
            "recent_case": _guest(agency.id, "62811000005", clock.past("guest_accounts")),
            "pending": _guest(agency.id, "62811000006", clock.past("guest_accounts")),
        }
        session.add_all(guests.values())
        employees = list(await session.scalars(select(Employee).order_by(Employee.id).limit(4)))
        codes = {
            "used_old": LinkCode(
                employee_id=employees[0].id,
                code_hash="a" * 64,
                expires_at=clock.start,
                used_at=clock.past("link_codes"),
            ),
            "expired_old": LinkCode(
                employee_id=employees[1].id, code_hash="b" * 64, expires_at=clock.past("link_codes")
            ),
            "used_new": LinkCode(
                employee_id=employees[2].id,
                code_hash="c" * 64,
                expires_at=clock.past("link_codes"),
                used_at=clock.inside("link_codes"),
            ),
            "expired_new": LinkCode(
                employee_id=employees[3].id,
                code_hash="d" * 64,
                expires_at=clock.inside("link_codes"),
            ),
        }
        session.add_all(codes.values())
        session.add_all(
            [
                LoginCode(
                    employee_id=employees[0].id,
                    code_hash="e" * 64,
                    expires_at=clock.start,
                    used_at=clock.past("login_codes"),
                ),
                LoginCode(
                    employee_id=employees[1].id,
                    code_hash="f" * 64,
                    expires_at=clock.inside("login_codes"),
                ),
                WebSession(
                    token_hash="g" * 64,
                    employee_id=employees[0].id,
                    agency_id=agency.id,
                    csrf="x",
                    address="10.0.0.1",
                    expires_at=clock.start,
                    ended_at=clock.past("web_sessions"),
                ),
                WebSession(
                    token_hash="h" * 64,
                    employee_id=employees[0].id,
                    agency_id=agency.id,
                    csrf="y",
                    address="10.0.0.2",
                    expires_at=clock.inside("web_sessions"),
                ),
            ]
        )
        audits = {
            "old": AuditLog(actor="x", action="old", at=clock.past("audit_log")),
            "new": AuditLog(actor="x", action="new", at=clock.inside("audit_log")),
        }
        session.add_all(audits.values())
    async with app.sessions() as session, session.begin():
        # Early statuses get their time on insert; move them afterwards, as the clock would.
        for platform_id, at in (
            ("wamid.old", clock.past("early_statuses")),
            ("wamid.new", clock.inside("early_statuses")),
        ):
            await session.execute(
                update(EarlyStatus)
                .where(EarlyStatus.platform_id == platform_id)
                .values(received_at=at)
            )

    await link_all(app, limit=7)
    failed = [("failed", "500 Internal"), ("failed", "500 Internal"), ("unreachable", "403")]
    old_broadcast = await _broadcast(app, agency, failed, clock.past("deliveries"))
    new_broadcast = await _broadcast(app, agency, [("failed", "429")], clock.inside("deliveries"))
    async with app.sessions() as session, session.begin():
        employee_account = await session.scalar(
            select(Account).where(Account.employee_id.isnot(None))
        )
        assert employee_account is not None
        employee_account.last_inbound_at = clock.past("guest_accounts")  # staff: never a guest
        # A notice to a guest still waiting to go out stays, and so does its account; one that
        # went out long ago to an employee goes.
        for account_id, status in (
            (guests["pending"].id, "pending"),
            (employee_account.id, "read"),
        ):
            session.add(
                Delivery(
                    agency_id=agency.id,
                    account_id=account_id,
                    kind="notification",
                    source="case:0",
                    message_key="four_in_one.notice",
                    params={"name": "Sri"},
                    status=status,
                    updated_at=clock.past("deliveries"),
                )
            )
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == new_broadcast)
            .values(finished_at=clock.inside("attachments"))
        )
        await session.execute(
            update(Broadcast)
            .where(Broadcast.id == old_broadcast)
            .values(finished_at=clock.past("attachments"))
        )

    closed_old = await _case(
        app, agency, "Almarhum Satu", clock, closed_at=clock.past("case_contacts"),
        account=guests["closed_case"],
    )  # fmt: skip
    cancelled_old = await _case(
        app, agency, "Almarhum Dua", clock, closed_at=clock.past("case_contacts"),
        status=CaseStatus.CANCELLED,
    )  # fmt: skip
    closed_new = await _case(
        app, agency, "Almarhum Tiga", clock, closed_at=clock.inside("case_contacts"),
        account=guests["recent_case"],
    )  # fmt: skip
    live = await _case(
        app, agency, "Almarhum Empat", clock, closed_at=None, account=guests["open_case"]
    )
    # A second report of the first death, merged into it: its notes go with the survivor's.
    merged_old = await _case(app, agency, "Alm. Satu", clock, closed_at=None)
    async with app.sessions() as session, session.begin():
        await session.execute(
            update(FourInOneCase)
            .where(FourInOneCase.id == merged_old)
            .values(status=CaseStatus.MERGED, merged_into_id=closed_old)
        )
        await session.execute(
            update(CaseContact).where(CaseContact.case_id == merged_old).values(case_id=closed_old)
        )

    async def reports() -> tuple[Any, ...]:
        async with app.sessions() as session:
            texts: list[Any] = []
            for broadcast_id in (old_broadcast, new_broadcast):
                sent = await session.get(Broadcast, broadcast_id)
                assert sent is not None
                texts.append(await broadcast_report.report(session, sent, t, clock.later))
                texts.append(await broadcasts.progress(session, broadcast_id))
                texts.append(await broadcasts.failures(session, broadcast_id))
            texts.append(await sla_report.report(session, agency.id, clock.later))
            return tuple(texts)

    before = await reports()
    before_rows = await _all_rows(app)
    contacts_before = await _keys(app, CaseContact.id)
    accounts_before = await _keys(app, Account.id)
    deliveries_before = await _keys(app, Delivery.id)

    # The dry run: what would go, and nothing goes.
    found = {
        f.category.name: f for f in await retention.survey(app.sessions, app.settings, clock.later)
    }
    old_deliveries = 7 + 1  # the old broadcast's rows and the old notice
    expected = {
        "dead_letters": 3,
        "inbound_events": 1,
        "early_statuses": 1,
        "deliveries": old_deliveries,
        "attachments": 1,
        "case_contacts": 3,
        "guest_accounts": 1,  # the one freed by a closed case is counted once its contacts go
        "link_codes": 2,
        "login_codes": 1,
        "web_sessions": 1,
        "audit_log": 1,
    }
    assert {name: f.count for name, f in found.items()} == expected
    assert found["dead_letters"].oldest == clock.past("dead_letters")
    assert await _all_rows(app) == before_rows

    ran = await jobs.run_due(app, clock.later, names=["retention"])
    assert ran == ["retention"]

    gone_guests = {guests["old"].id, guests["closed_case"].id}
    assert await _keys(app, Account.id) == accounts_before - gone_guests
    assert await _keys(app, WebhookDeadLetter.received_at) == {clock.inside("dead_letters")}
    assert await _keys(app, InboundEvent.event_id) == {"whatsapp:new"}
    assert await _keys(app, EarlyStatus.platform_id) == {"wamid.new"}
    assert await _keys(app, LinkCode.code_hash) == {"c" * 64, "d" * 64}
    assert await _keys(app, LoginCode.code_hash) == {"f" * 64}
    assert await _keys(app, WebSession.token_hash) == {"h" * 64}
    assert audits["old"].id not in await _keys(app, AuditLog.id)
    assert audits["new"].id in await _keys(app, AuditLog.id)
    async with app.sessions() as session:
        left = set(await session.scalars(select(Delivery.id)))
        old_rows = set(
            await session.scalars(select(Delivery.id).where(Delivery.broadcast_id == old_broadcast))
        )
        assert not old_rows
        assert len(deliveries_before - left) == old_deliveries
        tally = {
            (row.status, row.reason): row.count
            for row in await session.scalars(
                select(BroadcastTally).where(BroadcastTally.broadcast_id == old_broadcast)
            )
        }
        assert tally == {("failed", "500 Internal"): 2, ("unreachable", "403"): 1, ("sent", ""): 4}
        attachments = dict(
            (await session.execute(select(Broadcast.id, Broadcast.attachment))).all()
        )
        assert attachments == {old_broadcast: None, new_broadcast: PDF}
        contacts = set(await session.scalars(select(CaseContact.case_id)))
        assert contacts == {closed_new, live}
        gone_contacts = set(
            await session.scalars(
                select(CaseContact.id).where(CaseContact.case_id.in_([closed_new, live]))
            )
        )
        assert len(contacts_before - gone_contacts) == 3
        for case_id in (closed_old, cancelled_old, merged_old):
            case = await session.get(FourInOneCase, case_id)
            assert case is not None and case.anonymised_at == clock.later
            assert (case.deceased_name, case.handover_place, case.employee_id) == ("", None, None)
            assert case.identity_key == f"anon:{case_id}"
            notes = await session.scalars(
                select(CaseEvent.note).where(CaseEvent.case_id == case_id)
            )
            assert set(notes) == {None}
            doc_notes = await session.scalars(
                select(CaseDocument.note).where(CaseDocument.case_id == case_id)
            )
            assert set(doc_notes) == {None}
        for case_id in (closed_new, live):
            case = await session.get(FourInOneCase, case_id)
            assert case is not None and case.anonymised_at is None and case.deceased_name
        record = await session.scalar(select(AuditLog).where(AuditLog.action == "retention.run"))
        assert record is not None and record.actor == "job:retention"
        assert record.detail == {
            "counts": {**{k: v for k, v in expected.items() if v}, "guest_accounts": 2}
        }

    after = await reports()
    thinned_text, thinned_csv = after[0]
    assert thinned_text == before[0][0] + "\n" + t("retention.broadcast_thinned")
    assert before[0][1] is True and thinned_csv is False
    assert after[1:] == before[1:]

    # Nothing left past a limit: a second run removes nothing and logs nothing.
    assert await retention.enforce(app.sessions, app.settings, clock.later, actor="t") == {}
    async with app.sessions() as session:
        runs = await session.scalar(select(func.count()).where(AuditLog.action == "retention.run"))
    assert runs == 1


async def test_abdi_retention_lists_then_removes(cli, demo_app: App, monkeypatch) -> None:
    now = datetime.now(UTC)
    async with demo_app.sessions() as session, session.begin():
        session.add(
            WebhookDeadLetter(
                channel="telegram",
                reason="bad",
                body="+628123",
                raw=b"+628123",
                received_at=now - timedelta(days=45),
            )
        )
        session.add(AuditLog(actor="x", action="old", at=now - timedelta(days=6 * 365)))
    rows_before = await _all_rows(demo_app)

    listed = await cli("retention", "--dry-run")
    assert listed.code == 0, listed
    assert "- Badan webhook yang tak terbaca: 1 baris, tertua " in listed.out
    assert "(batas 30 hari, RETENTION_DEAD_LETTER_DAYS)" in listed.out
    assert "- Log audit: 1 baris" in listed.out and "(batas 1825 hari" in listed.out
    assert "- Kode masuk konsol HR terpakai atau kedaluwarsa: tidak ada" in listed.out
    assert "Uji coba: belum ada yang dihapus." in listed.out
    assert await _all_rows(demo_app) == rows_before

    refused = await cli("retention", "run")  # no terminal to say yes: nothing removed
    assert refused.code == 1 and "Tidak jadi dihapus." in refused.out
    assert await _all_rows(demo_app) == rows_before

    removed = await cli("retention", "run", "--yes")
    assert removed.code == 0, removed
    assert "Selesai: 2 baris dihapus atau dianonimkan" in removed.out
    assert "- Badan webhook yang tak terbaca: 1" in removed.out
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDeadLetter)) == 0
        record = await session.scalar(select(AuditLog).where(AuditLog.action == "retention.run"))
    assert record is not None and record.actor.startswith("cli")
    assert record.detail == {"counts": {"dead_letters": 1, "audit_log": 1}}
    assert "+628123" not in str(record.detail)

    again = await cli("retention", "run", "--yes")
    assert again.code == 0 and "Tidak ada data yang melewati batas simpannya." in again.out

    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    english = await cli("retention")
    assert "- Unreadable webhook bodies: none (limit 30 days, RETENTION_DEAD_LETTER_DAYS)" in (
        english.out
    )
    assert "Dry run: nothing was removed." in english.out
