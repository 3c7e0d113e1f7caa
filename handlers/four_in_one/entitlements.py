"""What the family is entitled to ("ℹ️ Hak keluarga"), from a followed case's screens or from
words like "apa saja hak janda pns": the content files of bot/services/entitlements, chosen by
what the case knows of the deceased (active PNS, PPPK or pensioner; both readings when unknown).
"""

from __future__ import annotations

from bot.messages import Choice, Reply
from bot.routing import ID, Context
from bot.services import entitlements
from bot.services import four_in_one as cases
from bot.views import entitlements as views
from handlers.four_in_one.common import Verb, followed_case, reply, router, stale
from storage.models import FourInOneCase


def button(ctx: Context, case: FourInOneCase) -> Choice:
    return Choice(router.payload(Verb.RIGHTS, case.id), ctx.t("entitlements.button"))


async def _screen(ctx: Context, case: FourInOneCase | None) -> list[Reply]:
    content = entitlements.content(ctx.t.locale, ctx.agency.code)
    kind = await entitlements.kind_of(ctx.session, case) if case is not None else None
    back = [Choice(router.payload(Verb.TRACK), ctx.t("button.back"), nav="back")] if case else []
    return reply(ctx, views.screen(ctx.t, content, kind), *back)


@router.action(Verb.RIGHTS, args=(ID,))
async def rights(ctx: Context, args: list[str]) -> list[Reply]:
    """Only a case this chat follows: its kind of deceased is not told to anyone else."""
    case = await followed_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    return await _screen(ctx, case)


async def from_words(ctx: Context) -> list[Reply]:
    """Asked in free words: for the case this chat follows (the latest death), else both
    readings."""
    await ctx.clear_state()
    followed = await cases.cases_of_account(ctx.session, ctx.account)
    return await _screen(ctx, followed[0] if followed else None)
