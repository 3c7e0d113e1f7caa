"""The core screens every user has at every step: start, menu, cancel, language and help."""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import LOCALES, translator
from bot.messages import Choice, Reply
from bot.routing import GUEST, NUM, WORD, Context, Router
from bot.services import intent
from handlers import four_in_one, guidance, rating, standing


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    LANGUAGE = "language"
    LANG = "lang"
    HELP = "help"


router = Router("home")


@router.command("start")
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    employee = ctx.employee
    if employee is not None and GUEST not in ctx.roles:
        lead = ctx.t("home.welcome_back", name=employee.name, agency=ctx.agency.name)
    else:
        lead = ctx.t("home.welcome", agency=ctx.agency.name)
    return [ctx.main_menu(lead)]


@router.command("menu")
@router.action("menu")
async def menu(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    return [ctx.main_menu()]


@router.action("more", args=(NUM,))
async def more(ctx: Context, args: list[str]) -> list[Reply]:
    page = int(args[0]) if args[0].isdigit() else 0
    return [ctx.main_menu(page=page)]


@router.action("section", args=(WORD,))
async def section(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    reply = ctx.section_menu(args[0])
    # A forged or stale section, or one this user may no longer open: the main menu instead.
    return [reply] if reply is not None else [ctx.main_menu(ctx.t("error.stale_button"))]


@router.command("batal", "cancel")
async def cancel(ctx: Context, args: list[str]) -> list[Reply]:
    had_state = ctx.state is not None
    await ctx.clear_state()
    return [ctx.main_menu(ctx.t("home.cancelled" if had_state else "home.nothing_to_cancel"))]


@router.command("bahasa", "language")
@router.action(Verb.LANGUAGE)
async def language(ctx: Context, args: list[str]) -> list[Reply]:
    choices = [
        Choice(router.payload(Verb.LANG, code), ctx.t(f"language.{code}")) for code in LOCALES
    ]
    return [Reply(ctx.t("language.prompt"), [*choices, ctx.back_to_menu()])]


@router.action(Verb.LANG, args=(WORD,))
async def set_language(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in LOCALES:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    ctx.account.locale = args[0]
    ctx.t = translator(args[0])
    return [ctx.main_menu(ctx.t("language.changed"))]


@router.command("bantuan", "help")
@router.action(Verb.HELP)
async def help_(ctx: Context, args: list[str]) -> list[Reply]:
    return [ctx.main_menu(ctx.t("home.help"))]


router.menu_entry(
    Verb.HELP, "menu.help", roles={"guest", "asn", "family", "hr", "officer"}, order=900
)
router.menu_entry(
    Verb.LANGUAGE, "menu.language", roles={"guest", "asn", "family", "hr", "officer"}, order=910
)


async def free_text(ctx: Context, text: str) -> list[Reply]:
    """Words typed where no question was asked (the menu, a card): understood where they can be
    ("bapak saya meninggal td pagi", "cek status dokumen", a tracking code, "apa sanksi flexing?",
    "mau menilai rekan", "makasih"), else the menu."""
    if intent.is_code(text):  # the same as 🔎 "Punya kode lacak", with the same per-chat cap
        return await four_in_one.tracking.code_typed(ctx, text)
    kind = intent.classify(text)
    if kind == intent.TRACK:  # the family's own cases, else the question for a code
        return await four_in_one.tracking.track(ctx, [])
    if kind == intent.RIGHTS:  # "apa saja hak janda pns": for the followed case, else both
        return await four_in_one.entitlements.from_words(ctx)
    if kind == intent.DEATH:
        return await four_in_one.from_message(ctx, text)
    if kind == intent.QUESTION:
        return await guidance.answer(ctx, text)
    if kind in (intent.RATING, intent.STANDING):
        rating_ = kind == intent.RATING
        owner, verb = (rating.router, "start") if rating_ else (standing.router, "mine")
        spec = owner.actions.get(verb)
        if spec is not None and (spec.roles is None or spec.roles & ctx.roles):
            return await spec.handler(ctx, [])
        return [ctx.main_menu(ctx.t("home.asn_only"))]
    if kind == intent.HELP:
        return await help_(ctx, [])
    if kind == intent.THANKS:
        return [ctx.main_menu(ctx.t("home.thanks"))]
    return [ctx.main_menu(ctx.t("error.unknown_text"))]


router.free_text = free_text  # the dispatcher's last resort
