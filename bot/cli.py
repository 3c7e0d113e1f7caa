"""The `abdi` command: chat locally, serve Telegram, migrate, manage the roster, roles and links."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select

from bot import dates, logs
from bot.app import App, StartupError, create_app, open_database
from bot.config import ROOT, Settings
from bot.i18n import Translator, translator
from bot.services import identity, roster
from bot.services.agencies import agency_by_code, ensure_default_agency
from storage import db
from storage.models import Account, Agency, Employee

DEMO_ROSTER = Path(__file__).resolve().parent / "demo" / "roster.csv"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


class CliError(Exception):
    def __init__(self, key: str, code: int = 1, **params: object) -> None:
        super().__init__(key)
        self.key, self.code, self.params = key, code, params


async def _agency(app: App, session, code: str | None) -> Agency:  # type: ignore[no-untyped-def]
    if code:
        agency = await agency_by_code(session, code)
        if agency is None:
            raise CliError("cli.bad_config", detail=f"agency {code!r}")
        return agency
    return await ensure_default_agency(session, app.settings)


async def _employee(app: App, session, nip: str) -> Employee:  # type: ignore[no-untyped-def]
    agency = await _agency(app, session, None)
    employee = await identity.employee_by_nip(session, agency.id, nip)
    if employee is None:
        raise CliError("cli.not_found_nip", nip=nip)
    return employee


async def _import(app: App, path: Path, agency_code: str | None, t: Translator) -> int:
    try:
        rows = roster.read_rows(path)
    except roster.RosterFileError as exc:
        raise CliError(exc.reason, **exc.params) from exc
    except OSError as exc:
        raise CliError("cli.bad_config", detail=str(exc)) from exc
    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session, agency_code)
        report = await roster.import_roster(session, agency, rows, _actor())
    for error in report.errors:
        reason = t(error.reason, **error.params)
        print(t("cli.roster.row_error", row=error.row, nip=error.nip or "-", reason=reason))
    print(
        t(
            "cli.roster.summary",
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.errors),
        )
    )
    if report.not_in_file:
        print(t("cli.roster.not_in_file", count=report.not_in_file))
    return 3 if report.errors else 0


async def cmd_roster_import(app: App, args: argparse.Namespace, t: Translator) -> int:
    return await _import(app, Path(args.file), args.agency, t)


async def cmd_roster_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        rows = await roster.export_rows(session, await _agency(app, session, args.agency))
    try:
        roster.write_rows(Path(args.file), rows)
    except roster.RosterFileError as exc:
        raise CliError(exc.reason, **exc.params) from exc
    except OSError as exc:
        raise CliError("cli.bad_config", detail=str(exc)) from exc
    print(t("cli.roster.exported", count=len(rows), path=args.file))
    return 0


async def cmd_link_code(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        employee = await _employee(app, session, args.nip)
        ttl = timedelta(minutes=args.minutes or app.settings.link_code_ttl_minutes)
        code, expires = await identity.create_link_code(session, employee, ttl, _actor())
    local = dates.moment(expires, app.settings.agency_timezone, t)
    print(t("cli.link_code", name=employee.name, code=code, expires=local))
    return 0


async def cmd_role(app: App, args: argparse.Namespace, t: Translator) -> int:
    grant = args.action == "grant"
    async with app.sessions() as session, session.begin():
        employee = await _employee(app, session, args.nip)
        changed = await identity.set_role(session, employee, args.role, grant=grant, actor=_actor())
    if changed:
        print(
            t(
                "cli.role.granted" if grant else "cli.role.revoked",
                role=args.role,
                name=employee.name,
            )
        )
    else:
        state = t("cli.role.has" if grant else "cli.role.lacks")
        print(t("cli.role.unchanged", name=employee.name, state=state, role=args.role))
    return 0


async def cmd_unlink(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        employee = await _employee(app, session, args.nip)
        count = await identity.unlink(session, employee, _actor(), channel=args.channel)
    print(t("cli.unlinked", count=count, name=employee.name))
    return 0


async def cmd_demo(app: App, args: argparse.Namespace, t: Translator) -> int:
    await _load_demo(app, t, story=not getattr(args, "roster_only", False))
    return 0


async def _load_demo(app: App, t: Translator, story: bool = True) -> None:
    """The demo roster, then its story (bot/services/demo.py): quarters, cases, a broadcast."""
    from bot.services import demo

    rows = roster.read_rows(DEMO_ROSTER)
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        report = await roster.import_roster(session, agency, rows, "demo")
    print(t("cli.demo_loaded", created=report.created, unchanged=report.unchanged + report.updated))
    if not story:
        return
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        made = await demo.load(session, agency, app.settings)
    if made.made:
        print(
            t(
                "cli.demo_story",
                published=made.published,
                open=made.open,
                ratings=made.ratings,
                cases=made.cases,
                broadcasts=made.broadcasts,
            )
        )
    else:
        print(t("cli.demo_story_kept"))


async def _console_account(app: App, nip: str | None) -> str:
    """The console user's platform ref; with --as, the account is linked to that employee."""
    if not nip:
        return "local"
    user_ref = f"as-{nip}"
    async with app.sessions() as session, session.begin():
        employee = await _employee(app, session, nip)
        account = await session.scalar(
            select(Account).where(Account.channel == "console", Account.employee_id == employee.id)
        )
        if account is None:
            account = await session.scalar(
                select(Account).where(Account.channel == "console", Account.user_ref == user_ref)
            )
        if account is None:
            account = Account(
                agency_id=employee.agency_id,
                channel="console",
                user_ref=user_ref,
                chat_ref=user_ref,
            )
            session.add(account)
        account.employee_id = employee.id
        return account.user_ref


async def cmd_chat(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.channels.console import ConsoleChat, ConsoleSender

    # The chat's own language for everything it prints, the demo lines and banner included.
    chat_t = translator(args.lang or app.settings.default_locale)
    if args.demo:
        await _load_demo(app, chat_t)
    user_ref = await _console_account(app, args.as_nip)
    chat = ConsoleChat(
        app.dispatcher, user_ref, language_hint=args.lang, attachments_dir=ROOT / "var" / "console"
    )
    who = args.as_nip or chat_t("console.guest")
    runner = _background(app, {"console": ConsoleSender(chat, chat_t)})
    try:
        await chat.run(chat_t, chat_t("console.banner", who=who))
    finally:
        await runner.stop()
    return 0


def _background(app: App, senders: dict):  # type: ignore[no-untyped-def,type-arg]
    """The drain and periodic jobs beside the conversations (see bot/background.py)."""
    from bot import background

    return background.start(app, senders, run_drain=app.settings.delivery_in_process)


async def cmd_run(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.channels import telegram

    if not app.settings.telegram_bot_token:
        raise CliError("cli.no_token", code=2)
    from bot.background import channel_senders

    webhook = args.webhook or bool(app.settings.telegram_webhook_url)
    runner = _background(app, channel_senders(app))
    try:
        await telegram.serve(app, webhook=webhook, t=t)
    finally:
        await runner.stop()
    return 0


async def cmd_serve(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.background import channel_senders
    from bot.channels import whatsapp_webhook

    runner = _background(app, channel_senders(app))
    try:
        await whatsapp_webhook.serve(app, t)
    finally:
        await runner.stop()
    return 0


async def cmd_dead_letters(app: App, args: argparse.Namespace, t: Translator) -> int:
    """The bodies of one channel we kept but could not read: a list, one body's exact bytes,
    or one body fed through the channel's processing again (--replay)."""
    from storage.models import WebhookDeadLetter

    if args.replay is not None:
        replay = _whatsapp_replay if args.channel == "whatsapp" else _telegram_replay
        return await replay(app, args.replay, t)
    of_channel = WebhookDeadLetter.channel == args.channel
    async with app.sessions() as session:
        if args.show is not None:
            letter = await session.get(WebhookDeadLetter, args.show)
            if letter is None or letter.channel != args.channel:
                raise CliError("cli.dead_letters.not_found", id=args.show)
            sys.stdout.flush()
            # Exactly what Meta sent (and signed); rows from before 0008 have only the text.
            sys.stdout.buffer.write(letter.raw if letter.raw is not None else letter.body.encode())
            sys.stdout.buffer.flush()
            return 0
        rows = list(
            await session.scalars(
                select(WebhookDeadLetter)
                .where(of_channel)
                .order_by(WebhookDeadLetter.id.desc())
                .limit(50)
            )
        )
    if not rows:
        print(t("cli.dead_letters.none"))
    for row in rows:
        size = len(row.raw) if row.raw is not None else len(row.body.encode())
        at = row.received_at.strftime("%Y-%m-%d %H:%M:%S")
        if row.replayed_at is None:
            print(t("cli.dead_letters.row", id=row.id, at=at, size=size, reason=row.reason))
        else:
            when = row.replayed_at.strftime("%Y-%m-%d %H:%M:%S")
            note = _replay_summary(
                t, dict(p.split("=", 1) for p in (row.replay_note or "").split())
            )
            print(
                t(
                    "cli.dead_letters.row_replayed",
                    id=row.id,
                    at=at,
                    size=size,
                    reason=row.reason,
                    when=when,
                    note=note,
                )
            )
    return 0


# What came of a replayed body's parts, in the order they are reported.
REPLAY_OUTCOMES = {
    "answered": "cli.dead_letters.answered",
    "notice": "cli.dead_letters.notice",
    "updated": "cli.dead_letters.updated",
    "status": "cli.dead_letters.status",
    "duplicate": "cli.dead_letters.duplicate",
    "ignored": "cli.dead_letters.ignored",
    "kept": "cli.dead_letters.kept",
}


def _replay_summary(t: Translator, counts: dict[str, object]) -> str:
    """Outcome counts in words: "2 pesan dijawab, 1 sudah ditangani sebelumnya (dilewati)"."""
    said = [t(key, count=counts[name]) for name, key in REPLAY_OUTCOMES.items() if counts.get(name)]
    return ", ".join(said) or t("cli.dead_letters.nothing")


async def _replayable(app: App, letter_id: int, channel: str, t: Translator) -> None:
    """Refuse a letter of another channel or none; say so when it was replayed before."""
    from storage.models import WebhookDeadLetter

    async with app.sessions() as session:
        before = await session.get(WebhookDeadLetter, letter_id)
    if before is None or before.channel != channel:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    if before.replayed_at is not None:
        at = before.replayed_at.strftime("%Y-%m-%d %H:%M:%S")
        print(t("cli.dead_letters.replayed_before", id=letter_id, at=at))


async def _whatsapp_replay(app: App, letter_id: int, t: Translator) -> int:
    """`abdi whatsapp dead-letters --replay ID`: the kept bytes through the webhook's own
    processing (they came from our database: no signature). Messages handled before are skipped
    by their claims; the rest are handled and answered."""
    from bot.channels.whatsapp import WhatsAppAdapter, close_client, make_client
    from bot.channels.whatsapp_webhook import WhatsAppWebhook
    from bot.dispatcher import Unavailable

    await _replayable(app, letter_id, "whatsapp", t)
    client = make_client(app.settings)
    try:
        hook = WhatsAppWebhook(app, WhatsAppAdapter(app, client))
        try:
            replayed = await hook.replay(letter_id)
        except Unavailable as exc:
            raise CliError("cli.dead_letters.unavailable", id=letter_id) from exc
    finally:
        await close_client(client)
    if replayed is None:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    _, taken = replayed
    summary = _replay_summary(t, dict(taken.outcomes))
    if taken.kept:
        print(
            t("cli.dead_letters.replay_kept", id=letter_id, reason=taken.kept[0], summary=summary)
        )
        return 1
    print(t("cli.dead_letters.replayed", id=letter_id, summary=summary))
    return 0


async def _telegram_replay(app: App, letter_id: int, t: Translator) -> int:
    """`abdi telegram dead-letters --replay ID`: the kept update through the same processing as
    polling and the webhook; an update handled before is skipped by its claim."""
    from bot.channels import telegram
    from bot.channels.telegram_polling import replay
    from bot.dispatcher import Unavailable

    await _replayable(app, letter_id, "telegram", t)
    bot = telegram.make_bot(app.settings)
    adapter = telegram.TelegramAdapter(app.dispatcher, bot)
    try:
        try:
            outcome = await replay(app, adapter, letter_id)
        except Unavailable as exc:
            raise CliError("cli.dead_letters.unavailable", id=letter_id) from exc
        await adapter.wait_inflight()
    finally:
        await bot.session.close()
    if outcome is None:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    name, reason = outcome
    summary = _replay_summary(t, {name: 1})
    if name == "kept":
        print(t("cli.dead_letters.replay_kept", id=letter_id, reason=reason, summary=summary))
        return 1
    print(t("cli.dead_letters.replayed", id=letter_id, summary=summary))
    return 0


async def cmd_db_upgrade(app: App, args: argparse.Namespace, t: Translator) -> int:
    print(t("cli.db.upgraded"))
    return 0


async def cmd_guidance(app: App, args: argparse.Namespace, t: Translator) -> int:
    """`abdi guidance require|unrequire|status|validate`: the HR side of the guidance."""
    from bot.services import guidance

    try:
        content = guidance.library().reload()
    except guidance.ContentError as exc:
        print(t("cli.guidance.invalid"))
        for problem in exc.problems:
            print(f"  - {problem}")
        return 1
    versions = content.versions()
    if args.guidance_command == "validate":
        print(t("cli.guidance.valid", count=len(versions), langs=len(content.topics)))
        return 0
    topics = [args.topic] if args.topic else list(versions)
    for topic in topics:
        if topic not in versions:
            raise CliError("cli.guidance.unknown_topic", topic=topic, topics=", ".join(versions))
    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session, None)
        if args.guidance_command in ("require", "unrequire"):
            required = args.guidance_command == "require"
            changed = await guidance.set_required(
                session, agency.id, args.topic, required=required, actor=_actor()
            )
            key = "cli.guidance.required" if required else "cli.guidance.unrequired"
            key = key if changed else "cli.guidance.unchanged"
            print(t(key, topic=args.topic, version=versions[args.topic]))
            return 0
        required_now = set(await guidance.required_topics(session, agency.id))
        for topic in topics:
            rates = await guidance.ack_rates(session, agency.id, topic, versions[topic])
            state = t(
                "guidance.hr_required" if topic in required_now else "guidance.hr_not_required"
            )
            print(
                t(
                    "cli.guidance.status_topic",
                    topic=topic,
                    version=versions[topic],
                    state=state,
                    confirmed=sum(r.confirmed for r in rates),
                    total=sum(r.total for r in rates),
                )
            )
            for r in rates:
                print(
                    t(
                        "cli.guidance.status_unit",
                        unit=r.unit,
                        confirmed=r.confirmed,
                        total=r.total,
                        pct=r.percent,
                    )
                )
    return 0


Command = Callable[[App, argparse.Namespace, Translator], Awaitable[int]]


# --- Rating periods and standings (issue 3) ---------------------------------------------------


async def _period(app: App, session, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.services import periods

    agency = await _agency(app, session, args.agency)
    try:
        ref = periods.parse_label(args.period)
    except periods.PeriodRefused as exc:
        raise CliError(exc.reason.value) from exc
    return agency, ref, await periods.get_period(session, agency.id, ref)


async def cmd_period(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.services import periods
    from bot.services.rating_scheme import load_scheme

    async with app.sessions() as session, session.begin():
        agency, ref, period = await _period(app, session, args)
        scheme = await load_scheme(session, agency.id)
        zone = ZoneInfo(agency.timezone)
        try:
            if args.action == "open":
                closes = None
                if args.until:
                    day = datetime.strptime(args.until, "%Y-%m-%d")
                    # The whole named day counts: close at the next local midnight.
                    closes = (day + timedelta(days=1)).replace(tzinfo=zone)
                period = await periods.open_quarter(
                    session, agency, ref, scheme, _actor(), closes_at=closes
                )
                local = dates.until(period.closes_at, zone, t)  # a quarter ends on its last day
                print(t("cli.period.opened", label=ref.label, closes=local))
                return 0
            if period is None:
                raise CliError(periods.PeriodError.NOT_FOUND.value)
            if args.action == "close":
                await periods.close_period(session, period, scheme, _actor())
                from storage.models import Standing

                count = await session.scalar(
                    select(func.count()).where(Standing.period_id == period.id)
                )
                print(t("cli.period.closed", label=ref.label, count=count))
            else:
                await periods.publish_period(session, period, scheme, _actor())
                print(t("cli.period.published", label=ref.label))
        except periods.PeriodRefused as exc:
            raise CliError(exc.reason.value) from exc
    return 0


async def cmd_standings_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.services import periods, standings
    from bot.services.rating_scheme import load_scheme

    async with app.sessions() as session:
        agency, ref, period = await _period(app, session, args)
        if period is None or period.state == periods.OPEN:
            raise CliError(periods.PeriodError.NOT_CLOSED.value)
        scheme = await load_scheme(session, agency.id)
        records = standings.export_records(await standings.ranking(session, period, scheme))
    csv_path, xlsx_path = _write_exports(Path(args.out), ref.label, records)
    print(
        t(
            "cli.standings.exported",
            label=ref.label,
            count=len(records),
            csv=csv_path,
            xlsx=xlsx_path,
        )
    )
    return 0


async def cmd_standings_flags(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Every integrity flag of a quarter, for the review an HR officer in the circle cannot do
    from chat (the operator at the terminal is in nobody's circle). Audit-logged."""
    from bot.services import audit, periods, rating
    from bot.services.rating_scheme import load_scheme

    async with app.sessions() as session, session.begin():
        agency, ref, period = await _period(app, session, args)
        if period is None:
            raise CliError(periods.PeriodError.NOT_FOUND.value)
        scheme = await load_scheme(session, agency.id)
        review = await rating.review_flags(session, period, scheme, None)
        lines = await rating.flag_texts(session, agency.id, review, t, limit=10_000)
        audit.record(
            session,
            actor=_actor(),
            action="rating.flags.view",
            agency_id=agency.id,
            target=f"period:{period.id}",
            shown=len(review.lines),
            hidden=0,
            unreviewable=0,
        )
    print(t("ranking.flags", period=ref.label, count=len(review.lines)))
    print("\n".join(lines) or t("ranking.no_flags"))
    return 0


def _write_exports(out: Path, label: str, records: list[dict[str, object]]) -> tuple[Path, Path]:
    from bot.services import standings

    out.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out / f"standings-{label}.csv", out / f"standings-{label}.xlsx"
    csv_path.write_bytes(standings.write_csv(records))
    xlsx_path.write_bytes(standings.write_xlsx(records, label))
    return csv_path, xlsx_path


def _add_rating_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    period = sub.add_parser("period", help="assessment quarters: open, close, publish")
    period.add_argument("action", choices=["open", "close", "publish"])
    period.add_argument("period", help="quarter, e.g. 2025-Q1")
    period.add_argument("--until", help="open: last day for ratings, YYYY-MM-DD (local)")
    period.add_argument("--agency", help="agency code (default: the configured one)")
    period.set_defaults(func=cmd_period)
    st = sub.add_parser("standings", help="quarter standings").add_subparsers(
        dest="standings_command", required=True
    )
    exp = st.add_parser("export", help="write CSV and XLSX (aggregates only)")
    exp.add_argument("period", help="quarter, e.g. 2025-Q1")
    exp.add_argument("--out", default=".", help="directory (default: here)")
    exp.add_argument("--agency")
    exp.set_defaults(func=cmd_standings_export)
    flags = st.add_parser("flags", help="every integrity flag of a quarter (audit-logged)")
    flags.add_argument("period", help="quarter, e.g. 2025-Q1")
    flags.add_argument("--agency")
    flags.set_defaults(func=cmd_standings_flags)


# --- 4-in-1 cases (issue 4) -------------------------------------------------------------------

# The operator at the terminal acts as the case desk: every document, every case of the agency.
CLI_ROLES = {"officer", "hr"}


def _moment(raw: str, zone: str) -> datetime:
    """ISO with a zone as given; a naive "YYYY-MM-DD HH:MM" is the agency's local time."""
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise CliError("cli.case.bad_time", value=raw) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(zone))


async def _case(session, agency: Agency, raw_id: int):  # type: ignore[no-untyped-def]
    from bot.services import four_in_one as cases

    case = await cases.agency_case(session, agency.id, raw_id)
    if case is None:
        raise CliError("cli.case.not_found", number=raw_id)
    return case


async def cmd_case(app: App, args: argparse.Namespace, t: Translator) -> int:
    """`abdi case list|show|open|update|confirm|cancel|merge|reject|handover|report|escalate`."""
    from bot.services import audit
    from bot.services import four_in_one as cases
    from bot.views import four_in_one as views

    action = args.case_command
    month = getattr(args, "month", None)
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise CliError("cli.case.bad_month", code=2, value=month)
    async with app.sessions() as session, session.begin():
        if args.agency and await agency_by_code(session, args.agency) is None:
            raise CliError("cli.case.no_agency", code=2, agency=args.agency)
        agency = await _agency(app, session, args.agency)
        zone = agency.timezone
        now = (
            _moment(args.now, zone) if getattr(args, "now", None) else datetime.now(ZoneInfo(zone))
        )
        if action == "list":
            rows = await cases.queue(session, agency.id, CLI_ROLES, limit=args.limit)
            held = await cases.pending_duplicates(session, agency.id, limit=args.limit)
            audit.record(
                session,
                actor=_actor(),
                action="case.queue",
                agency_id=agency.id,
                cases=[c.id for c in rows],
                duplicates=[c.id for c in held],
            )
            for c in rows:
                docs = ", ".join(
                    f"{t(f'four_in_one.doc_short.{d.kind}')}={t(f'four_in_one.status.{d.status}')}"
                    for d in c.documents
                )
                due = c.deadline_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
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
                print(
                    t(
                        "cli.case.duplicate_line",
                        number=c.id,
                        name=c.deceased_name,
                        survivor=c.duplicate_of_id or "-",
                    )
                )
            if not rows and not held:
                print(t("cli.case.none"))
        elif action == "show":
            case = await _case(session, agency, args.id)
            cases.read_by_staff(session, case, _actor(), "cli")
            print(views.staff_view(t, case, zone))
            events = await cases.history(session, case)
            names = await cases.actor_names(session, t, case, {e.actor for e in events})
            for e in events:
                what = " ".join(x for x in (e.kind, e.document_kind, e.to_status, e.note) if x)
                at = e.at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
                actor = names.get(e.actor, e.actor)
                print(t("cli.case.history_line", at=at, actor=actor, what=what))
        elif action == "open":
            if not (args.nip or (args.name and (args.unit or args.pensioner))):
                raise CliError("cli.case.need_deceased")
            # The chat's rules hold at the terminal too: no future death, a real NIP and phone.
            died_at = _moment(args.died, zone)
            if cases.death_in_future(died_at, now):
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
                session, agency, report, actor=_actor(), via="officer", settings=app.settings
            )
            # The same words for a new case and a pending duplicate (see `abdi case list`).
            print(t("cli.case.opened", number=opened.case.id, code=opened.code))
        elif action == "update":
            case = await _case(session, agency, args.id)
            try:
                changed = await cases.set_document(
                    session, case, args.doc, args.status, actor=_actor(), roles=CLI_ROLES,
                    zone=zone, note=args.note, now=now,
                )  # fmt: skip
            except cases.CaseRefused as exc:
                raise CliError(exc.reason.value) from exc
            doc, status = t(f"four_in_one.doc.{args.doc}"), t(f"four_in_one.status.{args.status}")
            key = "cli.case.updated" if changed else "cli.case.unchanged"
            print(t(key, number=case.id, doc=doc, status=status))
        elif action == "confirm":
            case = await _case(session, agency, args.id)
            employee = await _employee(app, session, args.nip) if args.nip else None
            try:
                survivor = await cases.confirm_match(
                    session, case, _actor(), employee=employee, force=args.force
                )
            except cases.CaseRefused as exc:
                if exc.reason is cases.CaseError.NAME_MISMATCH and employee is not None:
                    raise CliError(
                        "cli.case.name_mismatch", code=2,
                        reported=case.deceased_name, roster=employee.name,
                    ) from exc  # fmt: skip
                raise CliError(exc.reason.value) from exc
            marked = await session.get(Employee, survivor.employee_id)
            name = marked.name if marked else survivor.deceased_name
            print(t("cli.case.matched", number=survivor.id, name=name))
        elif action == "cancel":
            case = await _case(session, agency, args.id)
            try:
                await cases.cancel_case(session, case, actor=_actor(), reason=args.reason)
            except cases.CaseRefused as exc:
                raise CliError(exc.reason.value) from exc
            print(t("cli.case.cancelled", number=case.id))
        elif action in ("merge", "reject"):
            await _decide_duplicate(session, agency, args, t)
        elif action == "handover":
            case = await _case(session, agency, args.id)
            at = _moment(args.at, zone) if args.at else None
            try:
                await cases.set_handover(
                    session, case, at=at, place=args.place, actor=_actor(), zone=zone
                )
            except cases.CaseRefused as exc:
                raise CliError(exc.reason.value) from exc
            when = cases.when_text(t, case.handover_at or case.deadline_at, zone)
            print(
                t("cli.case.handover", number=case.id, when=when, place=case.handover_place or "-")
            )
            late = views.late_handover(t, case, zone)
            if late:
                print(late)
        elif action == "report":
            audit.record(session, actor=_actor(), action="case.report", agency_id=agency.id)
            months = await cases.report(session, agency.id, now, args.month)
            for m in months:
                print(views.report_text(t, m))
            if not months:
                print(t("cli.case.none"))
        else:  # escalate
            # A clock set ahead would claim warnings that then never fire at the real time.
            if now > datetime.now(UTC) + timedelta(minutes=5) and not args.force:
                raise CliError("cli.case.future_now", code=2, value=args.now)
            done = await cases.escalate_due(session, agency, now)
            print(
                t(
                    "cli.case.escalated",
                    risk24=len(done.risk24),
                    risk6=len(done.risk6),
                    overdue=len(done.overdue),
                    notifications=done.notifications,
                )
            )
    return 0


async def _decide_duplicate(  # type: ignore[no-untyped-def]
    session, agency: Agency, args: argparse.Namespace, t: Translator
) -> None:
    """`abdi case merge|reject ID [--yes]`: without --yes, say what would happen and stop."""
    from bot.services import four_in_one as cases

    case = await _case(session, agency, args.id)
    if case.status != cases.DUPLICATE:
        raise CliError("cli.case.not_duplicate", number=case.id)
    if args.case_command == "reject":
        if not args.yes:
            print(t("cli.case.reject_plan", number=case.id))
            raise CliError("cli.case.need_yes", code=2)
        await cases.reject_duplicate(session, case, _actor())
        print(t("cli.case.rejected", number=case.id))
        return
    survivor = await cases.duplicate_target(session, case)
    if survivor is None:
        raise CliError("cli.case.no_survivor", number=case.id)
    if not args.yes:
        print(t("cli.case.merge_plan", number=case.id, survivor=survivor.id))
        raise CliError("cli.case.need_yes", code=2)
    try:
        await cases.merge_duplicate(session, case, survivor.id, _actor())
    except cases.CaseRefused as exc:
        raise CliError(exc.reason.value) from exc
    print(t("cli.case.merged", number=case.id, survivor=survivor.id))


def _add_case_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from bot.services.four_in_one import DOCUMENTS, RELATIONS, STATUSES

    cp = sub.add_parser("case", help="4-in-1 cases for bereaved families").add_subparsers(
        dest="case_command", required=True
    )

    def add(name: str, help_: str) -> argparse.ArgumentParser:
        parser = cp.add_parser(name, help=help_)
        parser.add_argument("--agency", help="agency code (default: the configured one)")
        parser.set_defaults(func=cmd_case)
        return parser

    ls = add("list", "live cases, most urgent first")
    ls.add_argument("--limit", type=_positive, default=50)
    add("show", "one case with its history (audit-logged)").add_argument("id", type=int)
    op = add("open", "open a case for a family; prints the tracking code to hand over")
    op.add_argument("--nip", help="NIP of the deceased (matched to the roster)")
    op.add_argument("--name", help="full name of the deceased")
    op.add_argument("--unit", help="unit of the deceased")
    op.add_argument("--pensioner", help="pension number of the deceased")
    op.add_argument("--died", required=True, help="time of death, YYYY-MM-DD HH:MM local")
    op.add_argument("--family-name", dest="family_name")
    op.add_argument("--relation", choices=list(RELATIONS))
    op.add_argument("--phone")
    up = add("update", "set one document's status; the family is notified")
    up.add_argument("id", type=int)
    up.add_argument("doc", choices=list(DOCUMENTS))
    up.add_argument("status", choices=list(STATUSES))
    up.add_argument("--note", help="short note for the family")
    up.add_argument("--now", help=argparse.SUPPRESS)
    cf = add("confirm", "confirm the deceased employee (marks them deceased; merges duplicates)")
    cf.add_argument("id", type=int)
    cf.add_argument("--nip", help="the employee, when the case has no roster match yet")
    cf.add_argument(
        "--force", action="store_true", help="mark the NIP even if its name differs from the case"
    )
    cc = add("cancel", "close a mistaken or bogus case (the family is not messaged)")
    cc.add_argument("id", type=int)
    cc.add_argument("--reason", required=True, help="why, for the audit log")
    mg = add("merge", "merge a pending duplicate report into the case it repeats")
    mg.add_argument("id", type=int)
    mg.add_argument("--yes", action="store_true", help="do it (without: only say what happens)")
    rj = add("reject", "reject a pending duplicate report (its reporter is told neutrally)")
    rj.add_argument("id", type=int)
    rj.add_argument("--yes", action="store_true", help="do it (without: only say what happens)")
    ho = add("handover", "set when and where the documents are handed over")
    ho.add_argument("id", type=int)
    ho.add_argument("--at", help="YYYY-MM-DD HH:MM local")
    ho.add_argument("--place")
    rp = add("report", "cases per month, on-time share, median hours per document, overdue")
    rp.add_argument("--month", help="YYYY-MM (default: every month)")
    rp.add_argument("--now", help="count overdue as of this time (ISO)")
    es = add("escalate", "warn about cases at risk of missing the third night")
    es.add_argument("--now", help="the time to judge by (ISO; default: now)")
    es.add_argument("--force", action="store_true", help="accept a --now in the future")


# --- Broadcasts, reminders and the worker (issue 5) -------------------------------------------


async def _audience(session, agency: Agency, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from bot.services.audiences import (
        EVERYONE,
        NOT_ACKED,
        NOT_RATED,
        ROLE,
        UNITS,
        Audience,
        AudienceError,
    )
    from storage.models import Unit

    try:
        if args.unit:
            units = {
                u.name.lower(): u
                for u in await session.scalars(select(Unit).where(Unit.agency_id == agency.id))
            }
            unknown = [name for name in args.unit if name.lower() not in units]
            if unknown:
                names = ", ".join(sorted(u.name for u in units.values()))
                raise CliError("cli.broadcast.unknown_unit", unit=unknown[0], units=names)
            return Audience(UNITS, tuple(units[n.lower()].id for n in args.unit))
        if args.role:
            return Audience(ROLE, role=args.role)
        if args.not_rated:
            return Audience(NOT_RATED)
        if args.not_acked:
            from bot.services import guidance

            topics = guidance.library().content().versions()
            if args.not_acked not in topics:
                known = ", ".join(sorted(topics))
                raise CliError("cli.broadcast.unknown_topic", topic=args.not_acked, topics=known)
            return Audience(NOT_ACKED, topic=args.not_acked)
        return Audience(EVERYONE)
    except AudienceError as exc:
        raise CliError(str(exc)) from exc


def _attachment(path: str | None) -> tuple[str, str, bytes] | None:
    from bot.services.broadcasts import MAX_ATTACHMENT, attachment_type

    if not path:
        return None
    file = Path(path)
    try:
        content = file.read_bytes()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise CliError("cli.broadcast.no_file", path=path) from exc
    except OSError as exc:
        raise CliError("cli.broadcast.unreadable_file", path=path) from exc
    mime = attachment_type(content)
    if mime is None or len(content) > MAX_ATTACHMENT:
        raise CliError("cli.broadcast.bad_attachment", name=file.name)
    return file.name, mime, content


def _when(raw: str, zone: ZoneInfo) -> datetime:
    from bot.services import when
    from storage.models import utcnow

    moment = when.parse(raw, zone, utcnow())
    if moment is None:
        raise CliError("cli.broadcast.bad_time", value=raw, example=when.example(zone, utcnow()))
    return moment


async def cmd_broadcast_send(app: App, args: argparse.Namespace, t: Translator) -> int:
    """`abdi broadcast send|schedule`: count, preview, confirm, then record and release."""
    from bot.services import audiences, broadcasts
    from bot.services.audiences import AudienceError
    from storage.models import utcnow

    text = (args.text or "").strip()
    if not text or broadcasts.text_length(text) > broadcasts.MAX_TEXT:
        raise CliError("cli.broadcast.bad_text", limit=broadcasts.MAX_TEXT)
    attachment = _attachment(args.attach)
    async with app.sessions() as session:
        agency = await _agency(app, session, args.agency)
        zone = ZoneInfo(agency.timezone)
        send_at = _when(args.at, zone) if args.broadcast_command == "schedule" else utcnow()
        if send_at < utcnow() - timedelta(minutes=1):
            raise CliError("cli.broadcast.past", value=args.at)
        audience = await _audience(session, agency, args)
        try:
            size = await audiences.size(session, agency, audience, send_at)
        except AudienceError as exc:
            raise CliError(str(exc)) from exc
    print(t("cli.broadcast.preview", employees=size.employees, reachable=size.reachable))
    if not size.reachable:
        print(t("broadcast.nobody_reachable", employees=size.employees))
    print(t("broadcast.message", text=text))
    if attachment is not None:
        print(t("cli.broadcast.attachment", name=attachment[0], size=len(attachment[2]) // 1024))
    if not args.yes:
        answer = await asyncio.to_thread(_ask, t("cli.broadcast.confirm"))
        if answer.strip().lower() not in ("y", "ya", "yes"):
            print(t("cli.broadcast.aborted"))
            return 1
    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session, args.agency)
        broadcast = await broadcasts.create(
            session,
            agency,
            audience,
            actor=_actor(),
            text=text,
            send_at=send_at,
            attachment=attachment,
        )
        if args.broadcast_command == "send":
            count = await broadcasts.release(session, broadcast, utcnow())
            print(t("cli.broadcast.queued", id=broadcast.id, count=count))
        else:
            local = dates.moment(send_at, zone, t)
            print(t("cli.broadcast.scheduled", id=broadcast.id, at=local))
    return 0


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except (EOFError, OSError):  # no terminal to answer from: treat as "no"
        return ""


async def _print_status(app: App, broadcast_id: int, t: Translator, agency_code: str | None):  # type: ignore[no-untyped-def]
    from bot.broadcast_jobs import report
    from bot.services import broadcasts
    from storage.models import utcnow

    async with app.sessions() as session:
        agency = await _agency(app, session, agency_code)
        broadcast = await broadcasts.by_id(session, agency.id, broadcast_id)
        if broadcast is None:
            raise CliError("cli.broadcast.not_found", id=broadcast_id)
        progress = await broadcasts.progress(session, broadcast.id)
        text, _ = await report(session, broadcast, t, utcnow())
    return broadcast, progress, text


async def cmd_broadcast_status(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Counts by status with a progress bar (live with --watch), failures by reason, CSV."""
    from bot.services import broadcasts

    if args.id is None:
        async with app.sessions() as session:
            agency = await _agency(app, session, args.agency)
            rows = await broadcasts.recent(session, agency.id, limit=20)
        if not rows:
            print(t("cli.broadcast.none"))
        for b in rows:
            when = b.send_at.astimezone(ZoneInfo(agency.timezone)).strftime("%Y-%m-%d %H:%M")
            title = broadcasts.title(b, t)[:40]
            status = broadcasts.status_label(b.status, t)
            print(t("cli.broadcast.row", id=b.id, status=status, at=when, title=title))
        return 0
    broadcast, progress, text = await _print_status(app, args.id, t, args.agency)
    while args.watch and broadcast.status in (broadcasts.SCHEDULED, broadcasts.SENDING):
        done = progress.total - progress.pending
        print(f"\r{broadcasts.bar(done, progress.total, 40)} {done}/{progress.total}", end="")
        sys.stdout.flush()
        await asyncio.sleep(1)
        if not progress.open and progress.total:
            break
        broadcast, progress, text = await _print_status(app, args.id, t, args.agency)
    if args.watch:
        print()
    print(text)
    if args.csv:
        async with app.sessions() as session:
            data = await broadcasts.undelivered_csv(session, broadcast, t)
        try:
            await asyncio.to_thread(Path(args.csv).write_bytes, data)
        except OSError as exc:
            raise CliError("cli.broadcast.csv_failed", code=2, path=args.csv) from exc
        print(t("cli.broadcast.csv", path=args.csv, count=max(0, data.count(b"\n") - 1)))
    return 0


async def cmd_broadcast_cancel(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.services import broadcasts

    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session, args.agency)
        broadcast = await broadcasts.by_id(session, agency.id, args.id)
        if broadcast is None:
            raise CliError("cli.broadcast.not_found", id=args.id)
        if broadcast.status not in (broadcasts.SCHEDULED, broadcasts.SENDING):
            status = broadcasts.status_label(broadcast.status, t)
            raise CliError("cli.broadcast.not_cancellable", id=args.id, status=status)
        withdrawn = await broadcasts.cancel(session, broadcast, _actor())
    print(t("cli.broadcast.cancelled", id=args.id, count=withdrawn))
    return 0


async def cmd_worker(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Drain deliveries and run the periodic jobs until SIGTERM/SIGINT (or once, with --once)."""
    import signal

    from bot import background, jobs
    from bot.drain import drain_once

    senders = background.channel_senders(app)
    if not senders:
        raise CliError("cli.no_token", code=2)
    if args.once:
        await jobs.run_due(app)
        report = await drain_once(app, senders)
        for sender in senders.values():
            await sender.close()  # type: ignore[attr-defined]
        print(t("cli.worker.once", sent=report.sent, retried=report.retried, failed=report.failed))
        return 0
    from bot.web import health_server

    runner = background.start(app, senders)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(t("cli.worker.started", worker=runner.drain.worker))
    async with health_server(app):
        await stop.wait()
    await runner.stop()
    return 0


async def cmd_reminder(app: App, args: argparse.Namespace, t: Translator) -> int:
    from bot.services import reminders

    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session, args.agency)
        if args.reminder_command == "add":
            try:
                reminder = await reminders.add(
                    session,
                    agency,
                    trigger=args.trigger.replace("-", "_"),
                    actor=_actor(),
                    days_before=args.days,
                    weekday=WEEKDAYS.index(args.day),
                    at_time=args.at,
                    audience=await _audience(session, agency, args) if _chose(args) else None,
                    text=args.text,
                )
            except reminders.ReminderError as exc:
                raise CliError(str(exc), **exc.params) from exc
            print(t("cli.reminder.added", id=reminder.id))
            return 0
        if args.reminder_command == "remove":
            reminder = next(
                (r for r in await reminders.listed(session, agency.id) if r.id == args.id), None
            )
            if reminder is None:
                raise CliError("cli.reminder.not_found", id=args.id)
            await reminders.remove(session, reminder, _actor())
            print(t("cli.reminder.removed", id=args.id))
            return 0
        rows = await reminders.listed(session, agency.id)
        if not rows:
            print(t("cli.reminder.none"))
        for r in rows:
            print(await reminders.describe(session, r, t))
    return 0


def _chose(args: argparse.Namespace) -> bool:
    return bool(args.everyone or args.unit or args.role or args.not_rated or args.not_acked)


WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _audience_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--everyone", action="store_true", help="every active ASN (default)")
    group.add_argument("--unit", action="append", help="unit name (repeat for several)")
    group.add_argument("--role", choices=["hr", "officer"], help="holders of a role")
    group.add_argument("--not-rated", action="store_true", help="ASN who rated nobody this quarter")
    group.add_argument("--not-acked", metavar="TOPIC", help="ASN who did not confirm TOPIC")
    parser.add_argument("--agency", help="agency code (default: the configured one)")


def _add_broadcast_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bp = sub.add_parser("broadcast", help="HR broadcasts").add_subparsers(
        dest="broadcast_command", required=True
    )
    for name, help_ in (("send", "send now"), ("schedule", "send at a local time")):
        cmd = bp.add_parser(name, help=help_)
        cmd.add_argument("--text", required=True, help="the message (plain text)")
        cmd.add_argument("--attach", help="an image or a PDF to send with it")
        if name == "schedule":
            cmd.add_argument(
                "--at",
                required=True,
                help='local time: "besok 07.30", "25/11 08:00", "senin 07.00", "YYYY-MM-DD HH:MM"',
            )
        cmd.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        _audience_options(cmd)
        cmd.set_defaults(func=cmd_broadcast_send)
    st = bp.add_parser("status", help="list broadcasts, or one broadcast's report")
    st.add_argument("id", nargs="?", type=_positive)
    st.add_argument("--watch", action="store_true", help="progress bar until it is done")
    st.add_argument("--csv", help="write the recipients not reached to this CSV file")
    st.add_argument("--agency")
    st.set_defaults(func=cmd_broadcast_status)
    cancel = bp.add_parser("cancel", help="withdraw what has not been sent yet")
    cancel.add_argument("id", type=_positive)
    cancel.add_argument("--agency")
    cancel.set_defaults(func=cmd_broadcast_cancel)

    worker = sub.add_parser("worker", help="send deliveries and run periodic jobs")
    worker.add_argument("--once", action="store_true", help="one pass over what is due, then exit")
    worker.set_defaults(func=cmd_worker)

    rp = sub.add_parser("reminder", help="recurring HR reminders").add_subparsers(
        dest="reminder_command", required=True
    )
    add = rp.add_parser("add", help="a new recurring reminder")
    add.add_argument("trigger", choices=["before-close", "weekly"])
    add.add_argument("--days", type=int, default=3, help="before-close: days before the close")
    add.add_argument("--day", choices=WEEKDAYS, default="mon", help="weekly: day of the week")
    add.add_argument("--at", default="08:00", help="local time HH:MM (default 08:00)")
    add.add_argument("--text", help="own text (default for before-close: the rating reminder)")
    _audience_options(add)
    add.set_defaults(func=cmd_reminder)
    rp.add_parser("list", help="active reminders").set_defaults(func=cmd_reminder, agency=None)
    rm = rp.add_parser("remove", help="stop a reminder")
    rm.add_argument("id", type=_positive)
    rm.add_argument("--agency")
    rm.set_defaults(func=cmd_reminder)


Command = Callable[[App, argparse.Namespace, Translator], Awaitable[int]]


def _positive(raw: str) -> int:
    value = int(raw) if raw.isdigit() else 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abdi", description="Abdi — asisten ASN")
    sub = parser.add_subparsers(dest="command", required=True)

    chat = sub.add_parser("chat", help="chat with Abdi in this terminal")
    chat.add_argument("--demo", action="store_true", help="load the fictional demo office first")
    chat.add_argument("--as", dest="as_nip", metavar="NIP", help="chat as this employee")
    chat.add_argument("--lang", choices=["id", "en"], help="language of the chat")
    chat.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="serve Telegram (polling, or webhook when configured)")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of polling")
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the Telegram and WhatsApp webhooks on one server")
    serve.set_defaults(func=cmd_serve)

    wap = sub.add_parser("whatsapp", help="WhatsApp channel tools").add_subparsers(
        dest="whatsapp_command", required=True
    )
    tgp = sub.add_parser("telegram", help="Telegram channel tools").add_subparsers(
        dest="telegram_command", required=True
    )
    for channel, parent in (("whatsapp", wap), ("telegram", tgp)):
        dl = parent.add_parser("dead-letters", help="bodies kept because they could not be read")
        shown = dl.add_mutually_exclusive_group()
        shown.add_argument(
            "--show", type=_positive, metavar="ID", help="write that body's exact bytes"
        )
        shown.add_argument(
            "--replay",
            type=_positive,
            metavar="ID",
            help="handle that body again (what was handled before is skipped), mark it replayed",
        )
        dl.set_defaults(func=cmd_dead_letters, channel=channel)

    dbp = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    dbp.add_parser("upgrade", help="apply pending migrations").set_defaults(
        func=cmd_db_upgrade, migrate=True
    )

    rp = sub.add_parser("roster", help="staff roster").add_subparsers(
        dest="roster_command", required=True
    )
    imp = rp.add_parser("import", help="import CSV or XLSX (idempotent upsert)")
    imp.add_argument("file")
    imp.add_argument("--agency", help="agency code (default: the configured one)")
    imp.set_defaults(func=cmd_roster_import)
    exp = rp.add_parser("export", help="export to CSV or XLSX")
    exp.add_argument("file")
    exp.add_argument("--agency")
    exp.set_defaults(func=cmd_roster_export)

    code = sub.add_parser("link-code", help="one-time code to link an employee's chat account")
    code.add_argument("nip")
    code.add_argument("--minutes", type=_positive, help="validity (default LINK_CODE_TTL_MINUTES)")
    code.set_defaults(func=cmd_link_code)

    role = sub.add_parser("role", help="grant or revoke hr / officer")
    role.add_argument("action", choices=["grant", "revoke"])
    role.add_argument("nip")
    role.add_argument("role", choices=list(identity.ROLES))
    role.set_defaults(func=cmd_role)

    acc = sub.add_parser("account", help="chat accounts").add_subparsers(
        dest="account_command", required=True
    )
    un = acc.add_parser("unlink", help="unlink an employee's chat accounts")
    un.add_argument("nip")
    un.add_argument("--channel", choices=["telegram", "whatsapp", "console"])
    un.set_defaults(func=cmd_unlink)

    demo = sub.add_parser("demo", help="demo data").add_subparsers(
        dest="demo_command", required=True
    )
    demo_load = demo.add_parser("load", help="load the fictional demo office")
    demo_load.add_argument(
        "--roster-only",
        action="store_true",
        help="only the 50 employees: no quarters, cases or broadcast",
    )
    demo_load.set_defaults(func=cmd_demo)

    gp = sub.add_parser("guidance", help="media-ethics guidance").add_subparsers(
        dest="guidance_command", required=True
    )
    for name, help_ in (
        ("require", "ASN must confirm they have read TOPIC (its current version)"),
        ("unrequire", "stop requiring confirmation of TOPIC"),
    ):
        cmd = gp.add_parser(name, help=help_)
        cmd.add_argument("topic")
        cmd.set_defaults(func=cmd_guidance)
    st = gp.add_parser("status", help="confirmation rate per unit")
    st.add_argument("topic", nargs="?")
    st.set_defaults(func=cmd_guidance)
    gp.add_parser("validate", help="check the content files under locales/").set_defaults(
        func=cmd_guidance, topic=None
    )
    _add_rating_commands(sub)
    _add_case_commands(sub)

    _add_broadcast_commands(sub)
    return parser


async def _main(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    migrate = True if getattr(args, "migrate", False) else None
    app = await create_app(settings, migrate=migrate)
    try:
        return await args.func(app, args, t)
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t = translator("id")
    try:
        settings = Settings()
        t = translator(settings.default_locale)
        # The terminal chat shares the screen with the logs: keep them to problems only.
        logs.setup("WARNING" if args.command == "chat" else settings.log_level)
        return asyncio.run(_main(args, settings, t))
    except ValidationError as exc:
        first = exc.errors()[0]
        detail = f"{'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}"
        print(t("cli.error", message=t("cli.bad_config", detail=detail)), file=sys.stderr)
        return 2
    except (StartupError, CliError) as exc:
        print(t("cli.error", message=t(exc.key, **exc.params)), file=sys.stderr)
        return getattr(exc, "code", 2)
    except KeyboardInterrupt:
        return 130


__all__ = ["db", "main", "open_database"]
