"""`abdi guidance require|unrequire|status|validate`: the HR side of the media-ethics guidance."""

from __future__ import annotations

import argparse

from bot.app import App
from bot.cli.common import CliError, Subparsers, actor, agency
from bot.i18n import Translator
from bot.services import guidance


def _content(t: Translator) -> guidance.Content | None:
    """The content files read afresh; None (after saying what is wrong) when they are invalid."""
    try:
        return guidance.library().reload()
    except guidance.ContentError as exc:
        print(t("cli.guidance.invalid"))
        for problem in exc.problems:
            print(f"  - {problem}")
        return None


def _versions(t: Translator, topics: list[str] | None) -> dict[str, int] | None:
    """Each known topic's current version, after checking that every named topic exists."""
    content = _content(t)
    if content is None:
        return None
    versions = content.versions()
    for topic in topics or []:
        if topic not in versions:
            raise CliError("cli.guidance.unknown_topic", topic=topic, topics=", ".join(versions))
    return versions


async def _set_required(app: App, args: argparse.Namespace, t: Translator, required: bool) -> int:
    versions = _versions(t, [args.topic])
    if versions is None:
        return 1
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, None)
        changed = await guidance.set_required(
            session, chosen.id, args.topic, required=required, actor=actor()
        )
    key = "cli.guidance.required" if required else "cli.guidance.unrequired"
    print(
        t(
            key if changed else "cli.guidance.unchanged",
            topic=args.topic,
            version=versions[args.topic],
        )
    )
    return 0


async def cmd_require(app: App, args: argparse.Namespace, t: Translator) -> int:
    return await _set_required(app, args, t, required=True)


async def cmd_unrequire(app: App, args: argparse.Namespace, t: Translator) -> int:
    return await _set_required(app, args, t, required=False)


async def cmd_status(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Confirmation rate per unit of one topic, or of every topic."""
    versions = _versions(t, [args.topic] if args.topic else None)
    if versions is None:
        return 1
    topics = [args.topic] if args.topic else list(versions)
    async with app.sessions() as session, session.begin():
        chosen = await agency(app, session, None)
        required_now = set(await guidance.required_topics(session, chosen.id))
        for topic in topics:
            rates = await guidance.ack_rates(session, chosen.id, topic, versions[topic])
            state = t(
                "guidance.hr_required" if topic in required_now else "guidance.hr_not_required"
            )
            print(
                t(
                    "cli.guidance.status_topic",
                    topic=topic,
                    version=versions[topic],
                    state=state,
                    confirmed=sum(r.confirmed for r in rates),
                    total=sum(r.total for r in rates),
                )
            )
            for r in rates:
                print(
                    t(
                        "cli.guidance.status_unit",
                        unit=r.unit,
                        confirmed=r.confirmed,
                        total=r.total,
                        pct=r.percent,
                    )
                )
    return 0


async def cmd_validate(app: App, args: argparse.Namespace, t: Translator) -> int:
    content = _content(t)
    if content is None:
        return 1
    print(t("cli.guidance.valid", count=len(content.versions()), langs=len(content.topics)))
    return 0


def add_commands(sub: Subparsers) -> None:
    gp = sub.add_parser("guidance", help="media-ethics guidance").add_subparsers(
        dest="guidance_command", required=True
    )
    for name, help_, func in (
        ("require", "ASN must confirm they have read TOPIC (its current version)", cmd_require),
        ("unrequire", "stop requiring confirmation of TOPIC", cmd_unrequire),
    ):
        cmd = gp.add_parser(name, help=help_)
        cmd.add_argument("topic")
        cmd.set_defaults(func=func)
    st = gp.add_parser("status", help="confirmation rate per unit")
    st.add_argument("topic", nargs="?")
    st.set_defaults(func=cmd_status)
    gp.add_parser("validate", help="check the content files under locales/").set_defaults(
        func=cmd_validate
    )
