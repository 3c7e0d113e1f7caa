"""What every `abdi` command group shares, written once: the command's error, who acts, the agency
and employee an argument names, argument types, and the operator's yes/no."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.i18n import Translator
from bot.services import identity
from bot.services.agencies import agency_by_code, ensure_default_agency
from storage.models import Agency, Employee

Command = Callable[[App, argparse.Namespace, Translator], Awaitable[int]]
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
AGENCY_HELP = "agency code (default: the configured one)"
YES = ("y", "ya", "yes")


class CliError(Exception):
    """A command refused: `key` is the message id, `code` the exit code."""

    def __init__(
        self,
        key: str,
        *,
        code: int = 1,
        params: Mapping[str, object] | None = None,
        **more: object,
    ) -> None:
        super().__init__(key)
        self.key, self.code, self.params = key, code, {**(params or {}), **more}


def actor() -> str:
    """Who the audit log says acted: the operator's login."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def positive(raw: str) -> int:
    """An argparse type: a whole number above zero."""
    value = int(raw) if raw.isdigit() else 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return value


def agency_option(parser: argparse.ArgumentParser, help_: str | None = AGENCY_HELP) -> None:
    parser.add_argument("--agency", help=help_)


async def agency(app: App, session: AsyncSession, code: str | None) -> Agency:
    """The agency `--agency` names, or the configured one."""
    if code:
        found = await agency_by_code(session, code)
        if found is None:
            raise CliError("cli.bad_config", detail=f"agency {code!r}")
        return found
    return await ensure_default_agency(session, app.settings)


async def employee(app: App, session: AsyncSession, nip: str) -> Employee:
    """The employee of the configured agency with this NIP."""
    found = await identity.employee_by_nip(session, (await agency(app, session, None)).id, nip)
    if found is None:
        raise CliError("cli.not_found_nip", nip=nip)
    return found


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except (EOFError, OSError):  # no terminal to answer from: treat as "no"
        return ""


async def confirmed(prompt: str) -> bool:
    """The operator's yes at the terminal (asked off the event loop)."""
    answer = await asyncio.to_thread(_ask, prompt)
    return answer.strip().lower() in YES
