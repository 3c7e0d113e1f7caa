"""The officers' queue: live cases by deadline, reports waiting as duplicates, HR's figures."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.messages import Choice, Reply
from bot.routing import HR, NUM, Context
from bot.services import audit
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES, STAFF_ROLES, questions, satisfaction
from bot.views import four_in_one as views
from bot.views import satisfaction as satisfaction_views
from handlers.four_in_one.common import PAGE, Verb, at_desk, reply, router, zone


@router.action(Verb.QUEUE, roles=STAFF_ROLES)
async def queue(ctx: Context, args: list[str]) -> list[Reply]:
    return await show_queue(ctx, 0)


@router.action(Verb.PAGE, roles=STAFF_ROLES, args=(NUM,))
async def page(ctx: Context, args: list[str]) -> list[Reply]:
    return await show_queue(ctx, int(args[0]) if args[0].isdigit() else 0)


async def show_queue(ctx: Context, page_: int) -> list[Reply]:
    await ctx.clear_state()
    rows = await cases.queue(ctx.session, ctx.agency.id, ctx.roles, PAGE + 1, page_ * PAGE)
    now = datetime.now(UTC)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.queue",
        agency_id=ctx.agency.id,
        cases=[c.id for c in rows[:PAGE]],
    )
    lines = [
        ("❗ " if c.deadline_at < now else "")
        + ctx.t(
            "four_in_one.queue_line",
            number=c.id,
            name=c.deceased_name,
            when=cases.when_text(ctx.t, c.deadline_at, zone(ctx)),
            ready=sum(d.status in cases.READY for d in c.documents),
        )
        for c in rows[:PAGE]
    ]
    choices = [
        Choice(
            router.payload(Verb.SHOW, c.id),
            ctx.t("four_in_one.queue_item", number=c.id, name=c.deceased_name)[:24],
        )
        for c in rows[:PAGE]
    ]
    if len(rows) > PAGE:
        choices.append(Choice(router.payload(Verb.PAGE, page_ + 1), ctx.t("four_in_one.more")))
    waiting = await cases.count_duplicates(ctx.session, ctx.agency.id) if at_desk(ctx) else 0
    if waiting:
        # Reports that repeat a case wait for the desk: merged or rejected, never automatically.
        label = ctx.t("four_in_one.duplicates_button", count=waiting)
        choices.insert(0, Choice(router.payload(Verb.DUPLICATES), label))
    asked_ = await questions.count_open(ctx.session, ctx.agency.id) if at_desk(ctx) else 0
    if asked_:
        label = ctx.t("questions.queue_button", count=asked_)
        choices.insert(0, Choice(router.payload(Verb.QUESTIONS), label))
    if at_desk(ctx):
        choices.append(Choice(router.payload(Verb.NEW), ctx.t("four_in_one.new_for_family")))
    choices.append(Choice(router.payload(Verb.CODE), ctx.t("four_in_one.have_code")))
    if HR in ctx.roles:
        choices.append(Choice(router.payload(Verb.REPORT), ctx.t("four_in_one.report_button")))
    head = ctx.t("four_in_one.queue" if rows else "four_in_one.queue_empty")
    if waiting:
        head += "\n" + ctx.t("four_in_one.duplicates_waiting", count=waiting)
    return reply(ctx, "\n".join([head, *lines]), *choices)


@router.action(Verb.DUPLICATES, roles=DESK_ROLES)
async def duplicates(ctx: Context, args: list[str]) -> list[Reply]:
    """Pending duplicates, oldest first: each opens its card, where the officer decides."""
    await ctx.clear_state()
    rows = await cases.pending_duplicates(ctx.session, ctx.agency.id, PAGE)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.duplicates",
        agency_id=ctx.agency.id,
        cases=[c.id for c in rows],
    )
    lines = [
        ctx.t(
            "four_in_one.duplicate_line",
            number=c.id,
            name=c.deceased_name,
            survivor=c.duplicate_of_id or "-",
        )
        for c in rows
    ]
    choices = [
        Choice(
            router.payload(Verb.SHOW, c.id),
            ctx.t("four_in_one.queue_item", number=c.id, name=c.deceased_name)[:24],
        )
        for c in rows
    ]
    choices.append(Choice(router.payload(Verb.QUEUE), ctx.t("four_in_one.to_queue"), nav="back"))
    head = ctx.t("four_in_one.duplicates_head" if rows else "four_in_one.duplicates_none")
    return reply(ctx, "\n".join([head, *lines]), *choices)


@router.action(Verb.REPORT, roles={HR})
async def report(ctx: Context, args: list[str]) -> list[Reply]:
    audit.record(ctx.session, actor=ctx.actor, action="case.report", agency_id=ctx.agency.id)
    months = await cases.report(ctx.session, ctx.agency.id, datetime.now(UTC))
    lines = [views.report_text(ctx.t, m) for m in months[-6:]]
    text = (
        "\n\n".join([ctx.t("four_in_one.report_head"), *lines]) if lines else ctx.t("cli.case.none")
    )
    # The families' satisfaction (SKM) of the last three months it was answered in.
    asked = await satisfaction.monthly(ctx.session, ctx.agency)
    text = "\n\n".join([text, *(satisfaction_views.month_text(m, ctx.t) for m in asked[:3])])
    return reply(
        ctx, text, Choice(router.payload(Verb.QUEUE), ctx.t("four_in_one.to_queue"), nav="back")
    )
