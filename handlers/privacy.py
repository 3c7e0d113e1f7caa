"""Personal data (UU PDP): the privacy notice and "Data saya", a copy of what Abdi holds."""

from __future__ import annotations

import json
from enum import StrEnum

from bot.messages import Attachment, Choice, Reply
from bot.routing import ASN, FAMILY, GUEST, HR, OFFICER, Context, Router
from bot.services import audit, personal_data
from bot.services.privacy_notice import NOTICES
from bot.views.personal_data import render_text


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    MINE = "mine"
    NOTICE = "notice"
    EXPORT = "export"


EVERYONE = {GUEST, ASN, FAMILY, HR, OFFICER}

router = Router("privacy")
# After help and language: the numbers of the entries before it stay put.
router.menu_entry(Verb.MINE, "privacy.menu", roles=EVERYONE, order=920)


@router.command("privasi", "privacy")
@router.action(Verb.NOTICE)
async def notice(ctx: Context, args: list[str]) -> list[Reply]:
    text = NOTICES.notice(ctx.t.locale).full_for(ctx.agency.name)
    return [
        Reply(text, [Choice(router.payload(Verb.MINE), ctx.t("privacy.menu")), ctx.back_to_menu()])
    ]


@router.command("datasaya", "mydata")
@router.action(Verb.MINE)
async def mine(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    choices = [
        Choice(router.payload(Verb.EXPORT), ctx.t("privacy.export")),
        Choice(router.payload(Verb.NOTICE), ctx.t("privacy.notice")),
        ctx.back_to_menu(),
    ]
    return [Reply(ctx.t("privacy.mine"), choices)]


@router.action(Verb.EXPORT)
async def export(ctx: Context, args: list[str]) -> list[Reply]:
    data = await personal_data.gather(ctx.session, ctx.account, ctx.actor)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="personal_data.export",
        agency_id=ctx.agency.id,
        target=f"account:{ctx.account.id}",
    )
    as_json = json.dumps(data, ensure_ascii=False, indent=2).encode()
    as_text = render_text(data, ctx.t).encode()
    return [
        Reply(
            ctx.t("privacy.exported"),
            attachment=Attachment("data-saya.json", as_json, "application/json"),
        ),
        Reply(
            ctx.t("privacy.exported_text"),
            [ctx.back_to_menu()],
            attachment=Attachment("data-saya.txt", as_text, "text/plain"),
        ),
    ]
