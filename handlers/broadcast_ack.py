"""A recipient's "✅ I have read this" on a broadcast that asks for it. The button names a delivery
row; the service re-checks that the row is this person's and the broadcast asks for confirmation,
so a forged or copied button confirms nothing."""

from __future__ import annotations

from bot.messages import Reply
from bot.routing import ID, Context, Router
from bot.services.broadcasting import acks
from storage.models import utcnow

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
