"""`abdi link-code|role|account`: linking employees' chat accounts, and their roles."""

from __future__ import annotations

import argparse
from datetime import timedelta

from bot import dates
from bot.app import App
from bot.cli.common import Subparsers, actor, employee, positive
from bot.i18n import Translator
from bot.services import identity


async def cmd_link_code(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        person = await employee(app, session, args.nip)
        ttl = timedelta(minutes=args.minutes or app.settings.link_code_ttl_minutes)
        code, expires = await identity.create_link_code(session, person, ttl, actor())
    local = dates.moment(expires, app.settings.agency_timezone, t)
    print(t("cli.link_code", name=person.name, code=code, expires=local))
    return 0


async def cmd_role(app: App, args: argparse.Namespace, t: Translator) -> int:
    grant = args.action == "grant"
    async with app.sessions() as session, session.begin():
        person = await employee(app, session, args.nip)
        changed = await identity.set_role(session, person, args.role, grant=grant, actor=actor())
    if changed:
        done = t(
            "cli.role.granted" if grant else "cli.role.revoked", role=args.role, name=person.name
        )
        print(done)
    else:
        state = t("cli.role.has" if grant else "cli.role.lacks")
        print(t("cli.role.unchanged", name=person.name, state=state, role=args.role))
    return 0


async def cmd_unlink(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        person = await employee(app, session, args.nip)
        count = await identity.unlink(session, person, actor(), channel=args.channel)
    print(t("cli.unlinked", count=count, name=person.name))
    return 0


def add_commands(sub: Subparsers) -> None:
    code = sub.add_parser("link-code", help="one-time code to link an employee's chat account")
    code.add_argument("nip")
    code.add_argument("--minutes", type=positive, help="validity (default LINK_CODE_TTL_MINUTES)")
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
