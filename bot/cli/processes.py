"""`abdi chat|run|serve|worker`: the processes that hold conversations, and the one that only
sends deliveries and runs the periodic jobs. Each runs bot/background.py beside its work."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator

from sqlalchemy import select

from bot import background, heap, jobs
from bot.app import App
from bot.channels.console import ConsoleChat, ConsoleSender
from bot.cli.common import CliError, Subparsers, employee
from bot.cli.demo import load_demo
from bot.config import ROOT
from bot.delivery import ChannelSender
from bot.drain import drain_once
from bot.i18n import Translator, translator
from storage.models import Account


async def _console_account(app: App, nip: str | None, lang: str | None = None) -> str:
    """The console user's platform ref; with --as, the account is linked to that employee, and
    --lang is the language it speaks from now on (as choosing it in the chat would make it)."""
    if not nip:
        await _speak(app, "local", lang)
        return "local"
    user_ref = f"as-{nip}"
    async with app.sessions() as session, session.begin():
        person = await employee(app, session, nip)
        account = await session.scalar(
            select(Account).where(Account.channel == "console", Account.employee_id == person.id)
        )
        if account is None:
            account = await session.scalar(
                select(Account).where(Account.channel == "console", Account.user_ref == user_ref)
            )
        if account is None:
            account = Account(
                agency_id=person.agency_id,
                channel="console",
                user_ref=user_ref,
                chat_ref=user_ref,
            )
            session.add(account)
        account.employee_id = person.id
        if lang:
            account.locale = lang
        return account.user_ref


async def _speak(app: App, user_ref: str, lang: str | None) -> None:
    """--lang over the language an earlier session of this terminal chose."""
    if not lang:
        return
    async with app.sessions() as session, session.begin():
        account = await session.scalar(
            select(Account).where(Account.channel == "console", Account.user_ref == user_ref)
        )
        if account is not None:
            account.locale = lang


def _background(app: App, senders: dict[str, ChannelSender]) -> background.Background:
    """The drain and periodic jobs beside the conversations (see bot/background.py)."""
    return background.start(app, senders, run_drain=app.settings.delivery_in_process)


async def cmd_chat(app: App, args: argparse.Namespace, t: Translator) -> int:
    # The chat's own language for everything it prints, the demo lines and banner included.
    chat_t = translator(args.lang or app.settings.default_locale)
    if args.demo:
        await load_demo(app, chat_t)
    user_ref = await _console_account(app, args.as_nip, args.lang)
    chat = ConsoleChat(
        app.dispatcher, user_ref, language_hint=args.lang, attachments_dir=ROOT / "var" / "console"
    )
    who = args.as_nip or chat_t("console.guest")
    runner = _background(app, {"console": ConsoleSender(chat, chat_t)})
    try:
        async with _local_console(app, chat_t):
            await chat.run(chat_t, chat_t("console.banner", who=who))
    finally:
        await runner.stop()
    return 0


@contextlib.asynccontextmanager
async def _local_console(app: App, t: Translator) -> AsyncIterator[None]:
    """The HR web console on this machine beside the chat, so a newcomer can open it; a port
    already taken costs the console, with a line saying so, not the chat."""
    port = app.settings.web_chat_port
    if not (app.settings.web_console and port):
        yield
        return
    from bot.hr_web.app import PREFIX, mount
    from bot.web import application, serving

    web_app = application(app)
    mount(web_app, app)
    async with contextlib.AsyncExitStack() as stack:
        try:
            bound = await stack.enter_async_context(serving(web_app, "127.0.0.1", port))
        except OSError as exc:
            print(t("console.web_unavailable", port=port, reason=exc.strerror or str(exc)))
        else:
            print(t("console.web", address=f"http://127.0.0.1:{bound}{PREFIX}"))
        yield


async def cmd_run(app: App, args: argparse.Namespace, t: Translator) -> int:
    # aiogram takes seconds to import: only the command that serves Telegram loads it.
    from bot.channels import serving

    if not app.settings.telegram_bot_token:
        raise CliError("cli.no_token", code=2)
    webhook = args.webhook or bool(app.settings.telegram_webhook_url)
    runner = _background(app, background.channel_senders(app))
    heap.settle()
    try:
        await serving.serve_telegram(app, webhook=webhook, t=t)
    finally:
        await runner.stop()
    return 0


async def cmd_serve(app: App, args: argparse.Namespace, t: Translator) -> int:
    # pywa and the webhook server are heavy imports: only the command that serves loads them.
    from bot.channels import serving

    runner = _background(app, background.channel_senders(app))
    heap.settle()
    try:
        await serving.serve_webhooks(app, t)
    finally:
        await runner.stop()
    return 0


async def cmd_worker(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Drain deliveries and run the periodic jobs until SIGTERM/SIGINT (or once, with --once)."""
    senders = background.channel_senders(app)
    if not senders:
        raise CliError("cli.no_token", code=2)
    if args.once:
        await jobs.run_due(app)
        report = await drain_once(app, senders)
        for sender in senders.values():
            await sender.close()
        print(t("cli.worker.once", sent=report.sent, retried=report.retried, failed=report.failed))
        return 0
    # aiohttp's server only for the long-running worker's health endpoint.
    from bot.web import health_server

    runner = background.start(app, senders)
    heap.settle()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(t("cli.worker.started", worker=runner.drain.worker))
    async with health_server(app):
        await stop.wait()
    await runner.stop()
    return 0


def add_commands(sub: Subparsers) -> None:
    chat = sub.add_parser("chat", help="chat with Abdi in this terminal")
    chat.add_argument("--demo", action="store_true", help="load the fictional demo office first")
    chat.add_argument("--as", dest="as_nip", metavar="NIP", help="chat as this employee")
    chat.add_argument("--lang", choices=["id", "en"], help="language of the chat")
    chat.set_defaults(func=cmd_chat)

    run = sub.add_parser("run", help="serve Telegram (polling, or webhook when configured)")
    run.add_argument("--webhook", action="store_true", help="serve a webhook instead of polling")
    run.set_defaults(func=cmd_run)
    serve = sub.add_parser("serve", help="serve the Telegram and WhatsApp webhooks on one server")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="send deliveries and run periodic jobs")
    worker.add_argument("--once", action="store_true", help="one pass over what is due, then exit")
    worker.set_defaults(func=cmd_worker)
