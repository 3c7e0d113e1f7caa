"""`abdi roster import|export`: the staff roster as CSV or XLSX."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import App
from bot.cli.common import CliError, Subparsers, actor, agency, agency_option
from bot.i18n import Translator
from bot.services import roster


async def cmd_import(app: App, args: argparse.Namespace, t: Translator) -> int:
    try:
        rows = roster.read_rows(Path(args.file))
    except roster.RosterFileError as exc:
        raise CliError(exc.reason, params=exc.params) from exc
    except OSError as exc:
        raise CliError("cli.bad_config", detail=str(exc)) from exc
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, args.agency)
        report = await roster.import_roster(session, chosen, rows, actor())
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


async def cmd_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        rows = await roster.export_rows(session, await agency(app, session, args.agency))
    try:
        roster.write_rows(Path(args.file), rows)
    except roster.RosterFileError as exc:
        raise CliError(exc.reason, params=exc.params) from exc
    except OSError as exc:
        raise CliError("cli.bad_config", detail=str(exc)) from exc
    print(t("cli.roster.exported", count=len(rows), path=args.file))
    return 0


def add_commands(sub: Subparsers) -> None:
    rp = sub.add_parser("roster", help="staff roster").add_subparsers(
        dest="roster_command", required=True
    )
    imp = rp.add_parser("import", help="import CSV or XLSX (idempotent upsert)")
    imp.add_argument("file")
    agency_option(imp)
    imp.set_defaults(func=cmd_import)
    exp = rp.add_parser("export", help="export to CSV or XLSX")
    exp.add_argument("file")
    agency_option(exp, None)
    exp.set_defaults(func=cmd_export)
