"""The `abdi` command assembled from its groups (each module of bot/cli/ declares its own
subcommands next to their functions), and `main`, which turns a refusal into one clear line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import version

from pydantic import ValidationError

from bot import logs
from bot.app import StartupError, create_app
from bot.cli import (
    accounts,
    backup,
    broadcast,
    cases,
    data_requests,
    database,
    dead_letters,
    demo,
    doctor,
    guidance,
    processes,
    rating,
    retention,
    roster,
)
from bot.cli.common import CliError
from bot.config import Settings
from bot.i18n import Translator, translator

# In the order `abdi --help` lists them.
GROUPS = (
    processes,
    dead_letters,
    database,
    doctor,
    backup,
    roster,
    accounts,
    demo,
    guidance,
    rating,
    cases,
    broadcast,
    retention,
    data_requests,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="abdi", description="Abdi — asisten ASN")
    # The installed package's version, so a running image says which release it is.
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('abdi')}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(sub)
    return parser


async def _main(args: argparse.Namespace, settings: Settings, t: Translator) -> int:
    if getattr(args, "standalone", None):  # checks or replaces the database: opens it itself
        return int(await args.standalone(settings, args, t))
    migrate = True if getattr(args, "migrate", False) else None
    app = await create_app(settings, migrate=migrate)
    try:
        return int(await args.func(app, args, t))
    finally:
        await app.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    t = translator("id")
    try:
        settings = Settings()
        t = translator(settings.default_locale)
        # The terminal chat shares the screen with the logs, and doctor's table is the report
        # of its requests: keep them to problems only.
        logs.setup("WARNING" if args.command in ("chat", "doctor") else settings.log_level)
        return asyncio.run(_main(args, settings, t))
    except ValidationError as exc:
        first = exc.errors()[0]
        detail = f"{'.'.join(str(p) for p in first['loc']).upper()}: {first['msg']}"
        print(t("cli.error", message=t("cli.bad_config", detail=detail)), file=sys.stderr)
        return 2
    except (StartupError, CliError) as exc:
        print(t("cli.error", message=t(exc.key, **exc.params)), file=sys.stderr)
        return getattr(exc, "code", 2)  # a startup problem is a configuration one: 2
    except KeyboardInterrupt:
        return 130
