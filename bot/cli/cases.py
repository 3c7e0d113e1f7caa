"""`abdi case …`: 4-in-1 cases for bereaved families, with the operator as the case desk (every
document, every case of the agency). One function per action; `_desk` opens what they share."""

from __future__ import annotations

import argparse
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.cli.common import (
    CliError,
    Command,
    Subparsers,
    actor,
    agency,
    agency_option,
    employee,
    positive,
)
from bot.i18n import Translator
from bot.services import audit
from bot.services import four_in_one as cases
from bot.services.agencies import agency_by_code
from bot.services.four_in_one import questions, satisfaction
from bot.views import four_in_one as views
from bot.views import questions as question_views
from bot.views import satisfaction as satisfaction_views
from storage.models import Agency, Employee, FourInOneCase

# The operator at the terminal acts as the case desk: every document, every case of the agency.
CLI_ROLES = {"officer", "hr"}
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Desk:
    """What every case action works on: the app, the open transaction, the agency, and the
    time to judge by (--now, or the real time)."""

    app: App
    session: AsyncSession
    agency: Agency
    now: datetime

    @property
    def zone(self) -> str:
        return self.agency.timezone

    async def case(self, number: int) -> FourInOneCase:
        found = await cases.agency_case(self.session, self.agency.id, number)
        if found is None:
            raise CliError("cli.case.not_found", number=number)
        return found


Action = Callable[[Desk, argparse.Namespace, Translator], Awaitable[None]]


def _moment(raw: str, zone: str) -> datetime:
    """ISO with a zone as given; a naive "YYYY-MM-DD HH:MM" is the agency's local time."""
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise CliError("cli.case.bad_time", value=raw) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


def _desk(action: Action) -> Command:
    """The command that checks the options every case action shares, opens one transaction
    with the agency and the time to judge by, and runs `action` in it."""

    async def command(app: App, args: argparse.Namespace, t: Translator) -> int:
        month = getattr(args, "month", None)
        if month is not None and not MONTH.fullmatch(month):
            raise CliError("cli.case.bad_month", code=2, value=month)
        async with app.sessions() as session, session.begin():
            if args.agency and await agency_by_code(session, args.agency) is None:
                raise CliError("cli.case.no_agency", code=2, agency=args.agency)
            chosen = await agency(app, session, args.agency)
            zone = chosen.timezone
            raw_now = getattr(args, "now", None)
            now = _moment(raw_now, zone) if raw_now else datetime.now(ZoneInfo(zone))
            await action(Desk(app, session, chosen, now), args, t)
        return 0

    return command


async def list_cases(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    rows = await cases.queue(desk.session, desk.agency.id, CLI_ROLES, limit=args.limit)
    held = await cases.pending_duplicates(desk.session, desk.agency.id, limit=args.limit)
    audit.record(
        desk.session,
        actor=actor(),
        action="case.queue",
        agency_id=desk.agency.id,
        cases=[c.id for c in rows],
        duplicates=[c.id for c in held],
    )
    zone = ZoneInfo(desk.zone)
    for c in rows:
        docs = ", ".join(
            f"{t(f'four_in_one.doc_short.{d.kind}')}={t(f'four_in_one.status.{d.status}')}"
            for d in c.documents
        )
        due = c.deadline_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
        stage = t(f"four_in_one.stage.{c.status}")
        print(
            t(
                "cli.case.list_line",
                number=c.id,
                stage=stage,
                name=c.deceased_name,
                due=due,
                docs=docs,
            )
        )
    for c in held:
        survivor = c.duplicate_of_id or "-"
        print(t("cli.case.duplicate_line", number=c.id, name=c.deceased_name, survivor=survivor))
    if not rows and not held:
        print(t("cli.case.none"))


async def show(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    case = await desk.case(args.id)
    cases.read_by_staff(desk.session, case, actor(), "cli")
    print(views.staff_view(t, case, desk.zone))
    events = await cases.history(desk.session, case)
    names = await cases.actor_names(desk.session, t, case, {e.actor for e in events})
    for e in events:
        what = " ".join(x for x in (e.kind, e.document_kind, e.to_status, e.note) if x)
        at = e.at.astimezone(ZoneInfo(desk.zone)).strftime("%Y-%m-%d %H:%M")
        print(t("cli.case.history_line", at=at, actor=names.get(e.actor, e.actor), what=what))


async def open_case(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    if not (args.nip or (args.name and (args.unit or args.pensioner))):
        raise CliError("cli.case.need_deceased")
    # The chat's rules hold at the terminal too: no future death, a real NIP and phone.
    died_at = _moment(args.died, desk.zone)
    if cases.death_in_future(died_at, desk.now):
        raise CliError("cli.case.future_death", code=2, value=args.died)
    if args.nip and cases.nip_of(args.nip) is None:
        raise CliError("cli.case.bad_nip", code=2, value=args.nip)
    if args.phone and cases.phone_of(args.phone) is None:
        raise CliError("cli.case.bad_phone", code=2, value=args.phone)
    report = cases.Report(
        died_at=died_at,
        deceased_name=args.name or "",
        nip=cases.nip_of(args.nip) if args.nip else None,
        unit=args.unit,
        pensioner_number=args.pensioner,
        contact_name=args.family_name,
        relation=args.relation,
        phone=args.phone,
    )
    opened = await cases.open_case(
        desk.session, desk.agency, report, actor=actor(), via="officer", settings=desk.app.settings
    )
    # The same words for a new case and a pending duplicate (see `abdi case list`).
    print(t("cli.case.opened", number=opened.case.id, code=opened.code))


async def update(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    case = await desk.case(args.id)
    try:
        changed = await cases.set_document(
            desk.session, case, args.doc, args.status, actor=actor(), roles=CLI_ROLES,
            zone=desk.zone, note=args.note, now=desk.now,
        )  # fmt: skip
    except cases.CaseRefused as exc:
        raise CliError(exc.reason.value) from exc
    doc, status = t(f"four_in_one.doc.{args.doc}"), t(f"four_in_one.status.{args.status}")
    key = "cli.case.updated" if changed else "cli.case.unchanged"
    print(t(key, number=case.id, doc=doc, status=status))


async def confirm(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    case = await desk.case(args.id)
    person = await employee(desk.app, desk.session, args.nip) if args.nip else None
    try:
        survivor = await cases.confirm_match(
            desk.session, case, actor(), employee=person, force=args.force
        )
    except cases.CaseRefused as exc:
        if exc.reason is cases.CaseError.NAME_MISMATCH and person is not None:
            raise CliError(
                "cli.case.name_mismatch", code=2, reported=case.deceased_name, roster=person.name
            ) from exc
        raise CliError(exc.reason.value) from exc
    marked = await desk.session.get(Employee, survivor.employee_id)
    name = marked.name if marked else survivor.deceased_name
    print(t("cli.case.matched", number=survivor.id, name=name))


async def cancel(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    case = await desk.case(args.id)
    try:
        await cases.cancel_case(desk.session, case, actor=actor(), reason=args.reason)
    except cases.CaseRefused as exc:
        raise CliError(exc.reason.value) from exc
    print(t("cli.case.cancelled", number=case.id))


async def _duplicate(desk: Desk, number: int) -> FourInOneCase:
    case = await desk.case(number)
    if case.status != cases.DUPLICATE:
        raise CliError("cli.case.not_duplicate", number=case.id)
    return case


async def merge(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    """Without --yes, say what would happen and stop."""
    case = await _duplicate(desk, args.id)
    survivor = await cases.duplicate_target(desk.session, case)
    if survivor is None:
        raise CliError("cli.case.no_survivor", number=case.id)
    if not args.yes:
        print(t("cli.case.merge_plan", number=case.id, survivor=survivor.id))
        raise CliError("cli.case.need_yes", code=2)
    try:
        await cases.merge_duplicate(desk.session, case, survivor.id, actor())
    except cases.CaseRefused as exc:
        raise CliError(exc.reason.value) from exc
    print(t("cli.case.merged", number=case.id, survivor=survivor.id))


async def reject(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    """Without --yes, say what would happen and stop."""
    case = await _duplicate(desk, args.id)
    if not args.yes:
        print(t("cli.case.reject_plan", number=case.id))
        raise CliError("cli.case.need_yes", code=2)
    await cases.reject_duplicate(desk.session, case, actor())
    print(t("cli.case.rejected", number=case.id))


async def handover(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    case = await desk.case(args.id)
    at = _moment(args.at, desk.zone) if args.at else None
    try:
        await cases.set_handover(
            desk.session, case, at=at, place=args.place, actor=actor(), zone=desk.zone
        )
    except cases.CaseRefused as exc:
        raise CliError(exc.reason.value) from exc
    when = cases.when_text(t, case.handover_at or case.deadline_at, desk.zone)
    print(t("cli.case.handover", number=case.id, when=when, place=case.handover_place or "-"))
    late = views.late_handover(t, case, desk.zone)
    if late:
        print(late)


async def report(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    audit.record(desk.session, actor=actor(), action="case.report", agency_id=desk.agency.id)
    months = await cases.report(desk.session, desk.agency.id, desk.now, args.month)
    for m in months:
        print(views.report_text(t, m))
    if not months:
        print(t("cli.case.none"))


async def escalate(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    # A clock set ahead would claim warnings that then never fire at the real time.
    if desk.now > datetime.now(UTC) + timedelta(minutes=5) and not args.force:
        raise CliError("cli.case.future_now", code=2, value=args.now)
    done = await cases.escalate_due(desk.session, desk.agency, desk.now)
    print(
        t(
            "cli.case.escalated",
            risk24=len(done.risk24),
            risk6=len(done.risk6),
            overdue=len(done.overdue),
            notifications=done.notifications,
        )
    )


async def list_questions(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    """Families' questions to the desk: the open ones (--open), else all, newest first."""
    read = questions.open_questions if args.open else questions.all_questions
    rows = await read(desk.session, desk.agency.id, limit=args.limit)
    audit.record(
        desk.session,
        actor=actor(),
        action="case.questions",
        agency_id=desk.agency.id,
        questions=[q.id for q in rows],
    )
    for q in rows:
        print(question_views.line(t, q, desk.zone))
        if q.answer is not None:
            print(t("questions.history_answer", text=q.answer))
    if not rows:
        print(t("cli.questions.none"))


async def answer_question(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    """Answer as the chat would: the asking chat receives it, the audit log names the actor
    (the officer given by --as, else the operator)."""
    who = actor()
    if args.as_nip:
        person = await employee(desk.app, desk.session, args.as_nip)
        if not {r.role for r in person.roles} & set(cases.DESK_ROLES):
            raise CliError("cli.questions.not_officer", nip=args.as_nip)
        who = f"employee:{person.id}"
    question = await questions.for_staff(desk.session, desk.agency.id, args.id)
    if question is None:
        raise CliError("cli.questions.not_found", id=args.id)
    sent = await questions.answer(desk.session, question, args.text, who, desk.now)
    if sent is None:
        raise CliError("questions.already_answered", id=args.id)
    print(t("cli.questions.answered", id=question.id, number=question.case_id, count=sent))


YES_HELP = "do it (without: only say what happens)"


async def satisfaction_report(desk: Desk, args: argparse.Namespace, t: Translator) -> None:
    """`abdi case satisfaction [--month YYYY-MM]`: the families' SKM answers per month."""
    months = await satisfaction.monthly(desk.session, desk.agency, args.month)
    audit.record(
        desk.session, actor=actor(), action="case.satisfaction", agency_id=desk.agency.id,
        month=args.month,
    )  # fmt: skip
    if not months:
        print(t("skm.report_none"))
    for month in months:
        print(satisfaction_views.month_text(month, t))


def add_commands(sub: Subparsers) -> None:
    cp = sub.add_parser("case", help="4-in-1 cases for bereaved families").add_subparsers(
        dest="case_command", required=True
    )

    def add(name: str, help_: str, action: Action) -> argparse.ArgumentParser:
        parser = cp.add_parser(name, help=help_)
        agency_option(parser)
        parser.set_defaults(func=_desk(action))
        return parser

    qs = add("questions", "families' questions to the desk (newest first)", list_questions)
    qs.add_argument("--open", action="store_true", help="only those waiting for an answer")
    qs.add_argument("--limit", type=positive, default=50)
    an = add("answer", "answer a family's question; the asking chat receives it", answer_question)
    an.add_argument("id", type=int, help="the question's number")
    an.add_argument("text", help="the answer")
    an.add_argument("--as", dest="as_nip", help="NIP of the officer answering (audit log)")
    sat = add("satisfaction", "families' satisfaction (SKM) per month", satisfaction_report)
    sat.add_argument("--month", help="one month, YYYY-MM")
    ls = add("list", "live cases, most urgent first", list_cases)
    ls.add_argument("--limit", type=positive, default=50)
    add("show", "one case with its history (audit-logged)", show).add_argument("id", type=int)
    op = add("open", "open a case for a family; prints the tracking code to hand over", open_case)
    op.add_argument("--nip", help="NIP of the deceased (matched to the roster)")
    op.add_argument("--name", help="full name of the deceased")
    op.add_argument("--unit", help="unit of the deceased")
    op.add_argument("--pensioner", help="pension number of the deceased")
    op.add_argument("--died", required=True, help="time of death, YYYY-MM-DD HH:MM local")
    op.add_argument("--family-name", dest="family_name")
    op.add_argument("--relation", choices=list(cases.RELATIONS))
    op.add_argument("--phone")
    up = add("update", "set one document's status; the family is notified", update)
    up.add_argument("id", type=int)
    up.add_argument("doc", choices=list(cases.DOCUMENTS))
    up.add_argument("status", choices=list(cases.STATUSES))
    up.add_argument("--note", help="short note for the family")
    up.add_argument("--now", help=argparse.SUPPRESS)
    cf = add(
        "confirm", "confirm the deceased employee (marks them deceased; merges duplicates)", confirm
    )
    cf.add_argument("id", type=int)
    cf.add_argument("--nip", help="the employee, when the case has no roster match yet")
    cf.add_argument(
        "--force", action="store_true", help="mark the NIP even if its name differs from the case"
    )
    cc = add("cancel", "close a mistaken or bogus case (the family is not messaged)", cancel)
    cc.add_argument("id", type=int)
    cc.add_argument("--reason", required=True, help="why, for the audit log")
    mg = add("merge", "merge a pending duplicate report into the case it repeats", merge)
    mg.add_argument("id", type=int)
    mg.add_argument("--yes", action="store_true", help=YES_HELP)
    rj = add("reject", "reject a pending duplicate report (its reporter is told neutrally)", reject)
    rj.add_argument("id", type=int)
    rj.add_argument("--yes", action="store_true", help=YES_HELP)
    ho = add("handover", "set when and where the documents are handed over", handover)
    ho.add_argument("id", type=int)
    ho.add_argument("--at", help="YYYY-MM-DD HH:MM local")
    ho.add_argument("--place")
    rp = add("report", "cases per month, on-time share, median hours per document, overdue", report)
    rp.add_argument("--month", help="YYYY-MM (default: every month)")
    rp.add_argument("--now", help="count overdue as of this time (ISO)")
    es = add("escalate", "warn about cases at risk of missing the third night", escalate)
    es.add_argument("--now", help="the time to judge by (ISO; default: now)")
    es.add_argument("--force", action="store_true", help="accept a --now in the future")
