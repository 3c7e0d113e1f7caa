"""`abdi db upgrade`: apply pending migrations (the app opens the database with `migrate=True`)."""

from __future__ import annotations

import argparse

from bot.app import App
from bot.cli.common import Subparsers
from bot.i18n import Translator


async def cmd_upgrade(app: App, args: argparse.Namespace, t: Translator) -> int:
    print(t("cli.db.upgraded"))
    return 0


def add_commands(sub: Subparsers) -> None:
    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply pending migrations").set_defaults(
        func=cmd_upgrade, migrate=True
    )
