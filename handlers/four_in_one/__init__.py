"""4-in-1 in chat: a family reports a death and follows the four documents; officers work the
queue. Families are not in the roster, so every step is short, and nothing the office already
knows is asked again. Every button is re-checked against the database.

One module per side: the report form (report), the family following a case (tracking), and the
officers' desk (queue, card, decisions, handover); common holds the router and its verbs.
"""

from __future__ import annotations

from bot.messages import Reply
from bot.routing import Context
from bot.services import four_in_one as cases
from handlers.four_in_one import (
    card,
    decisions,
    entitlements,
    handover,
    questions,
    queue,
    report,
    tracking,
)
from handlers.four_in_one.common import Verb, is_staff, router
from handlers.four_in_one.report import from_message

__all__ = [
    "card",
    "decisions",
    "entitlements",
    "from_message",
    "handover",
    "questions",
    "queue",
    "report",
    "router",
    "tracking",
]


@router.action(Verb.START)
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    if is_staff(ctx):
        return await queue.show_queue(ctx, 0)
    if await cases.cases_of_account(ctx.session, ctx.account):
        return await tracking.track(ctx, [])
    return await report.new(ctx, [])
