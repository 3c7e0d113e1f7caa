"""`abdi broadcast send|schedule|status|cancel` and `abdi reminder add|list|remove`: HR's
broadcasts from the shell. Only parsing and showing; the rules are bot/services/broadcasting/."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.app import App
from bot.cli.common import CliError, Subparsers, actor, agency, agency_option, confirmed, positive
from bot.i18n import Translator
from bot.services import audit, guidance, when
from bot.services.broadcasting import acks, audiences, broadcasts, reminders
from bot.services.broadcasting.audiences import Audience, AudienceError
from bot.services.broadcasting.broadcasts import Progress
from bot.services.broadcasting.report import report
from storage.models import Agency, Broadcast, Unit, utcnow

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _chose(args: argparse.Namespace) -> bool:
    return bool(args.everyone or args.unit or args.role or args.not_rated or args.not_acked)


async def _units(session: AsyncSession, chosen: Agency, names: list[str]) -> Audience:
    units = {
        u.name.lower(): u
        for u in await session.scalars(select(Unit).where(Unit.agency_id == chosen.id))
    }
    unknown = [name for name in names if name.lower() not in units]
    if unknown:
        known = ", ".join(sorted(u.name for u in units.values()))
        raise CliError("cli.broadcast.unknown_unit", unit=unknown[0], units=known)
    return Audience(audiences.UNITS, tuple(units[n.lower()].id for n in names))


def _not_acked(topic: str) -> Audience:
    topics = guidance.library().content().versions()
    if topic not in topics:
        raise CliError("cli.broadcast.unknown_topic", topic=topic, topics=", ".join(sorted(topics)))
    return Audience(audiences.NOT_ACKED, topic=topic)


async def _audience(session: AsyncSession, chosen: Agency, args: argparse.Namespace) -> Audience:
    """The audience the options name (everyone by default)."""
    try:
        if args.unit:
            return await _units(session, chosen, args.unit)
        if args.role:
            return Audience(audiences.ROLE, role=args.role)
        if args.not_rated:
            return Audience(audiences.NOT_RATED)
        if args.not_acked:
            return _not_acked(args.not_acked)
        return Audience(audiences.EVERYONE)
    except AudienceError as exc:
        raise CliError(str(exc)) from exc


def _attachment(path: str | None) -> tuple[str, str, bytes] | None:
    if not path:
        return None
    file = Path(path)
    try:
        content = file.read_bytes()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise CliError("cli.broadcast.no_file", path=path) from exc
    except OSError as exc:
        raise CliError("cli.broadcast.unreadable_file", path=path) from exc
    mime = broadcasts.accepted_attachment(content)
    if mime is None:
        raise CliError("cli.broadcast.bad_attachment", name=file.name)
    return file.name, mime, content


def _send_at(args: argparse.Namespace, zone: ZoneInfo) -> datetime:
    """Now for `send`; the local time `--at` says for `schedule`, refused when it has passed."""
    now = utcnow()
    if args.broadcast_command != "schedule":
        return now
    moment = when.parse(args.at, zone, now)
    if moment is None:
        raise CliError("cli.broadcast.bad_time", value=args.at, example=when.example(zone, now))
    if moment < utcnow() - timedelta(minutes=1):
        raise CliError("cli.broadcast.past", value=args.at)
    return moment


async def cmd_send(app: App, args: argparse.Namespace, t: Translator) -> int:
    """`abdi broadcast send|schedule`: count, preview, confirm, then record and release."""
    text = (args.text or "").strip()
    if not text or broadcasts.too_long(text):
        raise CliError("cli.broadcast.bad_text", limit=broadcasts.MAX_TEXT)
    attachment = _attachment(args.attach)
    async with app.sessions() as session:
        chosen = await agency(app, session, args.agency)
        zone = ZoneInfo(chosen.timezone)
        send_at = _send_at(args, zone)
        audience = await _audience(session, chosen, args)
        try:
            size = await audiences.size(session, chosen, audience, send_at)
        except AudienceError as exc:
            raise CliError(str(exc)) from exc
    print(t("cli.broadcast.preview", employees=size.employees, reachable=size.reachable))
    if not size.reachable:
        print(t("broadcast.nobody_reachable", employees=size.employees))
    print(t("broadcast.message", text=text))
    if attachment is not None:
        print(t("cli.broadcast.attachment", name=attachment[0], size=len(attachment[2]) // 1024))
    if not args.yes and not await confirmed(t("cli.broadcast.confirm")):
        print(t("cli.broadcast.aborted"))
        return 1
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, args.agency)
        broadcast = await broadcasts.create(
            session, chosen, audience, actor=actor(), text=text, send_at=send_at,
            attachment=attachment, ack=args.ack or bool(args.ack_remind),
            ack_remind_hours=args.ack_remind,
        )  # fmt: skip
        if args.broadcast_command == "send":
            count = await broadcasts.release(session, broadcast, utcnow())
            print(t("cli.broadcast.queued", id=broadcast.id, count=count))
        else:
            local = dates.moment(send_at, zone, t)
            print(t("cli.broadcast.scheduled", id=broadcast.id, at=local))
    return 0


async def _found(session: AsyncSession, app: App, args: argparse.Namespace) -> Broadcast:
    """The broadcast `id` names within the agency; refused when there is none."""
    chosen = await agency(app, session, args.agency)
    broadcast = await broadcasts.by_id(session, chosen.id, args.id)
    if broadcast is None:
        raise CliError("cli.broadcast.not_found", id=args.id)
    return broadcast


async def _status(
    app: App, args: argparse.Namespace, t: Translator
) -> tuple[Broadcast, Progress, str]:
    async with app.sessions() as session:
        broadcast = await _found(session, app, args)
        progress = await broadcasts.progress(session, broadcast.id)
        text, _ = await report(session, broadcast, t, utcnow())
    return broadcast, progress, text


async def _list(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        chosen = await agency(app, session, args.agency)
        rows = await broadcasts.recent(session, chosen.id, limit=20)
    if not rows:
        print(t("cli.broadcast.none"))
    for b in rows:
        at = b.send_at.astimezone(ZoneInfo(chosen.timezone)).strftime("%Y-%m-%d %H:%M")
        title = broadcasts.title(b, t)[:40]
        status = broadcasts.status_label(b.status, t)
        print(t("cli.broadcast.row", id=b.id, status=status, at=at, title=title))
    return 0


async def _write_csv(app: App, broadcast: Broadcast, path: str, t: Translator) -> None:
    async with app.sessions() as session:
        data = await broadcasts.undelivered_csv(session, broadcast, t)
    try:
        await asyncio.to_thread(Path(path).write_bytes, data)
    except OSError as exc:
        raise CliError("cli.broadcast.csv_failed", code=2, path=path) from exc
    print(t("cli.broadcast.csv", path=path, count=max(0, data.count(b"\n") - 1)))


async def cmd_status(app: App, args: argparse.Namespace, t: Translator) -> int:
    """The list, or one broadcast's counts by status with a progress bar (live with --watch),
    failures by reason, and the CSV of those not reached."""
    if args.id is None:
        return await _list(app, args, t)
    broadcast, progress, text = await _status(app, args, t)
    while args.watch and broadcasts.unfinished(broadcast):
        done = progress.total - progress.pending
        print(f"\r{broadcasts.bar(done, progress.total, 40)} {done}/{progress.total}", end="")
        sys.stdout.flush()
        await asyncio.sleep(1)
        if not progress.open and progress.total:
            break
        broadcast, progress, text = await _status(app, args, t)
    if args.watch:
        print()
    print(text)
    if args.csv:
        await _write_csv(app, broadcast, args.csv, t)
    return 0


async def cmd_acks(app: App, args: argparse.Namespace, t: Translator) -> int:
    """`abdi broadcast acks ID --out FILE`: unit, name, NIP, status, confirmed at (audit-logged)."""
    async with app.sessions() as session, session.begin():
        broadcast = await _found(session, app, args)
        if not broadcast.ack_requested:
            raise CliError("cli.ack.not_asked", id=args.id)
        data = await acks.export_csv(session, broadcast, t)
        audit.record(
            session,
            actor=actor(),
            action="broadcast.acks_export",
            agency_id=broadcast.agency_id,
            target=f"broadcast:{broadcast.id}",
        )
    try:
        await asyncio.to_thread(Path(args.out).write_bytes, data)
    except OSError as exc:
        raise CliError("cli.broadcast.csv_failed", code=2, path=args.out) from exc
    print(t("cli.ack.written", path=args.out, count=max(0, data.count(b"\n") - 1)))
    return 0


async def cmd_cancel(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        broadcast = await _found(session, app, args)
        if not broadcasts.unfinished(broadcast):
            status = broadcasts.status_label(broadcast.status, t)
            raise CliError("cli.broadcast.not_cancellable", id=args.id, status=status)
        withdrawn = await broadcasts.cancel(session, broadcast, actor())
    print(t("cli.broadcast.cancelled", id=args.id, count=withdrawn))
    return 0


async def cmd_reminder_add(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, args.agency)
        try:
            reminder = await reminders.add(
                session,
                chosen,
                trigger=args.trigger.replace("-", "_"),
                actor=actor(),
                days_before=args.days,
                weekday=WEEKDAYS.index(args.day),
                at_time=args.at,
                audience=await _audience(session, chosen, args) if _chose(args) else None,
                text=args.text,
            )
        except reminders.ReminderError as exc:
            raise CliError(str(exc), params=exc.params) from exc
    print(t("cli.reminder.added", id=reminder.id))
    return 0


async def cmd_reminder_list(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        chosen = await agency(app, session, args.agency)
        rows = await reminders.listed(session, chosen.id)
        if not rows:
            print(t("cli.reminder.none"))
        for r in rows:
            print(await reminders.describe(session, r, t))
    return 0


async def cmd_reminder_remove(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, args.agency)
        reminder = await reminders.by_id(session, chosen.id, args.id)
        if reminder is None:
            raise CliError("cli.reminder.not_found", id=args.id)
        await reminders.remove(session, reminder, actor())
    print(t("cli.reminder.removed", id=args.id))
    return 0


def _audience_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--everyone", action="store_true", help="every active ASN (default)")
    group.add_argument("--unit", action="append", help="unit name (repeat for several)")
    group.add_argument("--role", choices=list(audiences.ROLES), help="holders of a role")
    group.add_argument("--not-rated", action="store_true", help="ASN who rated nobody this quarter")
    group.add_argument("--not-acked", metavar="TOPIC", help="ASN who did not confirm TOPIC")
    agency_option(parser)


def _add_broadcast(sub: Subparsers) -> None:
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
        cmd.add_argument(
            "--ack", action="store_true", help='ask recipients to tap "I have read this"'
        )
        cmd.add_argument(
            "--ack-remind",
            type=positive,
            metavar="HOURS",
            help="with --ack: remind, once, those who have not confirmed after HOURS",
        )
        _audience_options(cmd)
        cmd.set_defaults(func=cmd_send)
    st = bp.add_parser("status", help="list broadcasts, or one broadcast's report")
    st.add_argument("id", nargs="?", type=positive)
    st.add_argument("--watch", action="store_true", help="progress bar until it is done")
    st.add_argument("--csv", help="write the recipients not reached to this CSV file")
    agency_option(st, None)
    st.set_defaults(func=cmd_status)
    acks_ = bp.add_parser("acks", help="export who confirmed reading a broadcast (CSV)")
    acks_.add_argument("id", type=positive)
    acks_.add_argument("--out", required=True, help="the CSV file to write")
    agency_option(acks_, None)
    acks_.set_defaults(func=cmd_acks)
    cancel = bp.add_parser("cancel", help="withdraw what has not been sent yet")
    cancel.add_argument("id", type=positive)
    agency_option(cancel, None)
    cancel.set_defaults(func=cmd_cancel)


def _add_reminder(sub: Subparsers) -> None:
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
    add.set_defaults(func=cmd_reminder_add)
    rp.add_parser("list", help="active reminders").set_defaults(func=cmd_reminder_list, agency=None)
    rm = rp.add_parser("remove", help="stop a reminder")
    rm.add_argument("id", type=positive)
    agency_option(rm, None)
    rm.set_defaults(func=cmd_reminder_remove)


def add_commands(sub: Subparsers) -> None:
    _add_broadcast(sub)
    _add_reminder(sub)
