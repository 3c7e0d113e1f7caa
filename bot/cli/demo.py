"""`abdi demo load`: the fictional demo office (also what `abdi chat --demo` loads first)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.app import App
from bot.cli.common import Subparsers
from bot.i18n import Translator
from bot.services import demo as demo_story
from bot.services import roster
from bot.services.agencies import ensure_default_agency

DEMO_ROSTER = Path(__file__).resolve().parent.parent / "demo" / "roster.csv"


async def load_demo(app: App, t: Translator, story: bool = True) -> None:
    """The demo roster, then its story (bot/services/demo.py): quarters, cases, a broadcast."""
    rows = roster.read_rows(DEMO_ROSTER)
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        report = await roster.import_roster(session, agency, rows, "demo")
    print(t("cli.demo_loaded", created=report.created, unchanged=report.unchanged + report.updated))
    if not story:
        return
    async with app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, app.settings)
        made = await demo_story.load(session, agency, app.settings)
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


async def cmd_load(app: App, args: argparse.Namespace, t: Translator) -> int:
    await load_demo(app, t, story=not args.roster_only)
    return 0


def add_commands(sub: Subparsers) -> None:
    demo = sub.add_parser("demo", help="demo data").add_subparsers(
        dest="demo_command", required=True
    )
    load = demo.add_parser("load", help="load the fictional demo office")
    load.add_argument(
        "--roster-only",
        action="store_true",
        help="only the 50 employees: no quarters, cases or broadcast",
    )
    load.set_defaults(func=cmd_load)
