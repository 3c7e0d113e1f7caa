"""`abdi data-request list|show|answer`: HR answers personal-data requests (UU PDP)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.app import App
from bot.cli.common import CliError, Subparsers, actor, agency, agency_option, positive
from bot.i18n import Translator
from bot.services import audit, data_requests
from storage.models import DataRequest


def _line(app: App, request: DataRequest, who: str, t: Translator, now: datetime) -> str:
    zone = app.settings.agency_timezone
    return t(
        "cli.data_request.line",
        id=request.id,
        kind=request.kind,
        status=request.status,
        due=dates.moment(request.due_at, zone, t),
        flag=t("cli.data_request.overdue") if request.due_at <= now else "",
        who=who,
    )


async def cmd_list(app: App, args: argparse.Namespace, t: Translator) -> int:
    now = datetime.now(UTC)
    async with app.sessions() as session, session.begin():
        office = await agency(app, session, args.agency)
        requests = await data_requests.open_requests(session, office.id)
        lines = [_line(app, r, await data_requests.requester(session, r), t, now) for r in requests]
    print("\n".join(lines) if lines else t("cli.data_request.none"))
    return 0


async def _find(app: App, session: AsyncSession, args: argparse.Namespace) -> DataRequest:
    office = await agency(app, session, args.agency)
    request = await data_requests.find(session, office.id, args.id)
    if request is None:
        raise CliError("cli.data_request.not_found", id=args.id)
    return request


async def cmd_show(app: App, args: argparse.Namespace, t: Translator) -> int:
    zone = app.settings.agency_timezone
    async with app.sessions() as session, session.begin():
        request = await _find(app, session, args)
        who = await data_requests.requester(session, request)
        audit.record(
            session,
            actor=actor(),
            action="data_request.read",
            agency_id=request.agency_id,
            target=f"data_request:{request.id}",
        )
        print(
            t(
                "cli.data_request.detail",
                id=request.id,
                kind=request.kind,
                status=request.status,
                who=who,
                created=dates.moment(request.created_at, zone, t),
                due=dates.moment(request.due_at, zone, t),
                text=request.text,
                answer=request.answer or "-",
            )
        )
    return 0


async def cmd_answer(app: App, args: argparse.Namespace, t: Translator) -> int:
    if args.done == (args.refuse is not None):
        raise CliError("cli.data_request.need_answer", code=2)
    done = bool(args.done)
    note = (args.note or "") if done else args.refuse.strip()
    if not done and not note:
        raise CliError("cli.data_request.need_answer", code=2)
    async with app.sessions() as session, session.begin():
        request = await _find(app, session, args)
        answered = await data_requests.answer(
            session, request, actor=actor(), done=done, note=note, now=datetime.now(UTC)
        )
        if answered is None:
            raise CliError("cli.data_request.answered_before", id=args.id)
    key = "cli.data_request.done" if done else "cli.data_request.refused"
    print(t(key, id=args.id, erased=answered.erased))
    return 0


def add_commands(sub: Subparsers) -> None:
    group = sub.add_parser("data-request", help="personal-data requests (UU PDP)").add_subparsers(
        dest="data_request_command", required=True
    )
    listing = group.add_parser("list", help="open requests, the nearest deadline first")
    agency_option(listing)
    listing.set_defaults(func=cmd_list)
    show = group.add_parser("show", help="one request")
    show.add_argument("id", type=positive)
    agency_option(show)
    show.set_defaults(func=cmd_show)
    answer = group.add_parser("answer", help="answer a request: --done or --refuse REASON")
    answer.add_argument("id", type=positive)
    answer.add_argument("--done", action="store_true", help="carried out")
    answer.add_argument("--note", help="with --done: a line for the requester")
    answer.add_argument("--refuse", metavar="REASON", help="refused, with the reason")
    agency_option(answer)
    answer.set_defaults(func=cmd_answer)
