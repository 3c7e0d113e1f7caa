"""`abdi retention [--dry-run]` and `abdi retention run`: personal data past its limit, what would
go per category (counts and the oldest date), and removing it (audit-logged, counts only)."""

from __future__ import annotations

import argparse

from bot import dates
from bot.app import App
from bot.cli.common import Subparsers, actor, confirmed
from bot.i18n import Translator
from bot.services import retention
from storage.models import utcnow

LABELS = {
    "dead_letters": "retention.category.dead_letters",
    "inbound_events": "retention.category.inbound_events",
    "early_statuses": "retention.category.early_statuses",
    "deliveries": "retention.category.deliveries",
    "attachments": "retention.category.attachments",
    "case_contacts": "retention.category.case_contacts",
    "guest_accounts": "retention.category.guest_accounts",
    "link_codes": "retention.category.link_codes",
    "login_codes": "retention.category.login_codes",
    "web_sessions": "retention.category.web_sessions",
    "audit_log": "retention.category.audit_log",
}


def _days(days: float, t: Translator) -> str:
    return str(int(days)) if days.is_integer() else t.decimal(days, 1)


def _line(finding: retention.Finding, app: App, t: Translator) -> str:
    said = {
        "label": t(LABELS[finding.category.name]),
        "days": _days(finding.days, t),
        "setting": finding.category.setting.upper(),
    }
    if finding.oldest is None:
        return t("retention.line_none", **said)
    oldest = dates.day(finding.oldest, t, app.settings.agency_timezone)
    return t("retention.line", count=finding.count, oldest=oldest, **said)


async def cmd_retention(app: App, args: argparse.Namespace, t: Translator) -> int:
    now = utcnow()
    findings = await retention.survey(app.sessions, app.settings, now)
    print(t("retention.title", day=dates.day(now, t, app.settings.agency_timezone)))
    for finding in findings:
        print(_line(finding, app, t))
    total = sum(f.count for f in findings)
    if args.action != "run" or args.dry_run:
        print(t("retention.dry_run"))
        return 0
    if not total:
        print(t("retention.nothing"))
        return 0
    if not args.yes and not await confirmed(t("retention.confirm", count=total)):
        print(t("retention.aborted"))
        return 1
    removed = await retention.enforce(app.sessions, app.settings, now, actor=actor())
    print(t("retention.done", count=sum(removed.values())))
    for name, count in removed.items():
        print(t("retention.done_line", label=t(LABELS[name]), count=count))
    return 0


def add_commands(sub: Subparsers) -> None:
    parser = sub.add_parser(
        "retention",
        help="personal data past its retention limit: list it (the default) or `run` to remove it",
    )
    parser.add_argument("action", nargs="?", choices=("run",), help="remove what is listed")
    parser.add_argument("--dry-run", action="store_true", help="only list (the default)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=cmd_retention)
