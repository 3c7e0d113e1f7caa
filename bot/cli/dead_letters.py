"""`abdi whatsapp|telegram dead-letters`: the bodies of one channel we kept but could not read:
a list, one body's exact bytes (--show), or one body handled again (--replay)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from bot.app import App
from bot.cli.common import CliError, Subparsers, positive
from bot.dispatcher import Unavailable
from bot.i18n import Translator
from storage.models import WebhookDeadLetter

STAMP = "%Y-%m-%d %H:%M:%S"
# What came of a replayed body's parts, in the order they are reported.
REPLAY_OUTCOMES = {
    "answered": "cli.dead_letters.answered",
    "notice": "cli.dead_letters.notice",
    "updated": "cli.dead_letters.updated",
    "status": "cli.dead_letters.status",
    "duplicate": "cli.dead_letters.duplicate",
    "ignored": "cli.dead_letters.ignored",
    "kept": "cli.dead_letters.kept",
}


def _replay_summary(t: Translator, counts: dict[str, object]) -> str:
    """Outcome counts in words: "2 pesan dijawab, 1 sudah ditangani sebelumnya (dilewati)"."""
    said = [t(key, count=counts[name]) for name, key in REPLAY_OUTCOMES.items() if counts.get(name)]
    return ", ".join(said) or t("cli.dead_letters.nothing")


async def _letter(app: App, letter_id: int, channel: str) -> WebhookDeadLetter:
    """The kept body of this channel with this id; refused when there is none."""
    async with app.sessions() as session:
        letter = await session.get(WebhookDeadLetter, letter_id)
    if letter is None or letter.channel != channel:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    return letter


async def cmd_list(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        rows = list(
            await session.scalars(
                select(WebhookDeadLetter)
                .where(WebhookDeadLetter.channel == args.channel)
                .order_by(WebhookDeadLetter.id.desc())
                .limit(50)
            )
        )
    if not rows:
        print(t("cli.dead_letters.none"))
    for row in rows:
        size = len(row.raw) if row.raw is not None else len(row.body.encode())
        at = row.received_at.strftime(STAMP)
        if row.replayed_at is None:
            print(t("cli.dead_letters.row", id=row.id, at=at, size=size, reason=row.reason))
            continue
        counts = dict(p.split("=", 1) for p in (row.replay_note or "").split())
        print(
            t(
                "cli.dead_letters.row_replayed",
                id=row.id,
                at=at,
                size=size,
                reason=row.reason,
                when=row.replayed_at.strftime(STAMP),
                note=_replay_summary(t, dict(counts)),
            )
        )
    return 0


async def cmd_show(app: App, args: argparse.Namespace, t: Translator) -> int:
    letter = await _letter(app, args.show, args.channel)
    sys.stdout.flush()
    # Exactly what Meta sent (and signed); rows from before 0008 have only the text.
    sys.stdout.buffer.write(letter.raw if letter.raw is not None else letter.body.encode())
    sys.stdout.buffer.flush()
    return 0


async def _replayable(app: App, letter_id: int, channel: str, t: Translator) -> None:
    """Refuse a letter of another channel or none; say so when it was replayed before."""
    before = await _letter(app, letter_id, channel)
    if before.replayed_at is not None:
        at = before.replayed_at.strftime(STAMP)
        print(t("cli.dead_letters.replayed_before", id=letter_id, at=at))


def _replayed(
    t: Translator, letter_id: int, counts: dict[str, object], kept: bool, reason: object = None
) -> int:
    """Say what came of a replay; exit code 1 when the body was kept again."""
    summary = _replay_summary(t, counts)
    if kept:
        print(t("cli.dead_letters.replay_kept", id=letter_id, reason=reason, summary=summary))
        return 1
    print(t("cli.dead_letters.replayed", id=letter_id, summary=summary))
    return 0


async def _whatsapp_replay(app: App, letter_id: int, t: Translator) -> int:
    """The kept bytes through the webhook's own processing (they came from our database: no
    signature). Messages handled before are skipped by their claims; the rest are answered."""
    # pywa: only this command of the dead-letter tools talks to WhatsApp.
    from bot.channels.whatsapp import WhatsAppAdapter, close_client, make_client
    from bot.channels.whatsapp_webhook import WhatsAppWebhook

    await _replayable(app, letter_id, "whatsapp", t)
    client = make_client(app.settings)
    try:
        hook = WhatsAppWebhook(app, WhatsAppAdapter(app, client))
        try:
            replayed = await hook.replay(letter_id)
        except Unavailable as exc:
            raise CliError("cli.dead_letters.unavailable", id=letter_id) from exc
    finally:
        await close_client(client)
    if replayed is None:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    _, taken = replayed
    reason = taken.kept[0] if taken.kept else None
    return _replayed(t, letter_id, dict(taken.outcomes), bool(taken.kept), reason)


async def _telegram_replay(app: App, letter_id: int, t: Translator) -> int:
    """The kept update through the same processing as polling and the webhook; an update
    handled before is skipped by its claim."""
    # aiogram takes seconds to import: only this command of the dead-letter tools loads it.
    from bot.channels import telegram
    from bot.channels.telegram_intake import replay

    await _replayable(app, letter_id, "telegram", t)
    bot = telegram.make_bot(app.settings)
    adapter = telegram.TelegramAdapter(app.dispatcher, bot)
    try:
        try:
            outcome = await replay(app, adapter, letter_id)
        except Unavailable as exc:
            raise CliError("cli.dead_letters.unavailable", id=letter_id) from exc
        await adapter.wait_inflight()
    finally:
        await bot.session.close()
    if outcome is None:
        raise CliError("cli.dead_letters.not_found", id=letter_id)
    name, reason = outcome
    return _replayed(t, letter_id, {name: 1}, name == "kept", reason)


REPLAYS = {"whatsapp": _whatsapp_replay, "telegram": _telegram_replay}


async def cmd_dead_letters(app: App, args: argparse.Namespace, t: Translator) -> int:
    if args.replay is not None:
        return await REPLAYS[args.channel](app, args.replay, t)
    if args.show is not None:
        return await cmd_show(app, args, t)
    return await cmd_list(app, args, t)


def add_commands(sub: Subparsers) -> None:
    for channel, help_ in (
        ("whatsapp", "WhatsApp channel tools"),
        ("telegram", "Telegram channel tools"),
    ):
        tools = sub.add_parser(channel, help=help_).add_subparsers(
            dest=f"{channel}_command", required=True
        )
        dl = tools.add_parser("dead-letters", help="bodies kept because they could not be read")
        shown = dl.add_mutually_exclusive_group()
        shown.add_argument(
            "--show", type=positive, metavar="ID", help="write that body's exact bytes"
        )
        shown.add_argument(
            "--replay",
            type=positive,
            metavar="ID",
            help="handle that body again (what was handled before is skipped), mark it replayed",
        )
        dl.set_defaults(func=cmd_dead_letters, channel=channel)
