"""A recipient's "✅ I have read this" on a broadcast that asks for it, and a unit head's view of
who in their unit confirmed (counts only; HR sees names in the broadcast report).

The button names a delivery row; the service re-checks that the row is this person's and the
broadcast asks for confirmation, so a forged or copied button confirms nothing. A unit head is
read from the roster at each step (bot/services/broadcasting/acks.py `headed_unit`), so a button
kept after a transfer shows nothing."""

from __future__ import annotations

from bot.messages import Choice, Reply
from bot.routing import ID, Context, Router
from bot.services.broadcasting import acks, broadcasts
from storage.models import Broadcast, Unit, utcnow

router = Router(acks.ROUTER)
ANSWERS = {
    acks.Outcome.CONFIRMED: "ack.thanks",
    acks.Outcome.ALREADY: "ack.already",
    acks.Outcome.REFUSED: "ack.refused",
}


@router.action(acks.VERB, args=(ID,))
async def confirm(ctx: Context, args: list[str]) -> list[Reply]:
    outcome = await acks.confirm(ctx.session, int(args[0]), ctx.account, utcnow())
    return [ctx.main_menu(ctx.t(ANSWERS[outcome]))]


@router.command("konfirmasi", "acks")
@router.action("units")
async def unit_list(ctx: Context, args: list[str]) -> list[Reply]:
    unit_id = await acks.headed_unit(ctx.session, ctx.employee)
    if unit_id is None:
        return [ctx.main_menu(ctx.t("ack.not_head"))]
    rows = await acks.reaching_unit(ctx.session, ctx.agency.id, unit_id)
    if not rows:
        return [Reply(ctx.t("ack.unit_none"), [ctx.back_to_menu()])]
    choices = [
        Choice(router.payload("unit", b.id), f"#{b.id} {broadcasts.title(b, ctx.t)}") for b in rows
    ]
    return [Reply(ctx.t("ack.unit_pick"), [*choices, ctx.back_to_menu()])]


@router.action("unit", args=(ID,))
async def unit_report(ctx: Context, args: list[str]) -> list[Reply]:
    unit_id = await acks.headed_unit(ctx.session, ctx.employee)
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if unit_id is None or broadcast is None or not await _reached(ctx, broadcast, unit_id):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    unit = await ctx.session.get(Unit, unit_id)
    found = await acks.summary(ctx.session, broadcast, unit_id=unit_id, names=False)
    head = ctx.t("ack.unit_report", id=broadcast.id, unit=unit.name if unit else "-")
    back = Choice(router.payload("units"), ctx.t("button.back"), nav="back")
    return [Reply("\n".join([head, *acks.lines(found, ctx.t)]), [back, ctx.back_to_menu()])]


async def _reached(ctx: Context, broadcast: Broadcast, unit_id: int) -> bool:
    shown = await acks.reaching_unit(ctx.session, ctx.agency.id, unit_id, limit=1000)
    return broadcast.id in {b.id for b in shown}
