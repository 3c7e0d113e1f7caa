"""`abdi backup [--to DIR]` and `abdi restore FILE [--yes]` (bot/backups.py does the work).

Both run without the app: a restore fills a database the app would refuse to open (empty, or at
an older schema), and a backup must not migrate what it copies."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import backups
from bot.cli.common import CliError, Subparsers, actor, confirmed
from bot.config import Settings
from bot.i18n import Translator
from bot.services import audit
from storage import db


async def _audit(settings: Settings, action: str, file: Path) -> bool:
    """Log the action in the database it concerns, when its schema is current; whether it did."""
    engine = db.create_engine(settings.database_url, pool_size=1)
    try:
        current, head = await db.revisions(engine)
        if current == head:
            async with db.session_factory(engine)() as session, session.begin():
                audit.record(session, actor=actor(), action=action, agency_id=None, file=file.name)
        return current == head
    finally:
        await engine.dispose()


async def cmd_backup(settings: Settings, args: argparse.Namespace, t: Translator) -> int:
    try:
        target = backups.target(settings.database_url)
        path = await backups.backup(target, Path(args.to))
    except backups.BackupError as exc:
        raise CliError(exc.key, params=exc.params) from exc
    await _audit(settings, "database.backup", path)
    print(t("ops.backup.done", file=str(path)))
    return 0


async def cmd_restore(settings: Settings, args: argparse.Namespace, t: Translator) -> int:
    file = Path(args.file)
    try:
        target = backups.target(settings.database_url)
        backups.check_file(target, file)
        if await backups.has_data(target) and not args.yes:
            print(t("ops.restore.warning", file=str(file)))
            if not await confirmed(t("ops.restore.confirm")):
                raise CliError("ops.restore.refused")
        await backups.restore(target, file)
    except backups.BackupError as exc:
        raise CliError(exc.key, params=exc.params) from exc
    print(t("ops.restore.done", file=str(file)))
    if await _audit(settings, "database.restore", file):
        print(t("cli.db.upgraded"))
    else:
        print(t("cli.db.behind"))
    return 0


def add_commands(sub: Subparsers) -> None:
    backup = sub.add_parser("backup", help="write a backup file of the database")
    backup.add_argument("--to", default=".", help="folder of the backup file (default: here)")
    backup.set_defaults(standalone=cmd_backup)
    restore = sub.add_parser("restore", help="replace the database with a backup file")
    restore.add_argument("file", help="a file written by `abdi backup`")
    restore.add_argument("--yes", action="store_true", help="overwrite without asking")
    restore.set_defaults(standalone=cmd_restore)
