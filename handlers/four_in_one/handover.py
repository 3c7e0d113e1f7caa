"""The officers' desk: when and where the family receives the four documents."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import Field

from bot.messages import Choice, Reply
from bot.routing import ID, NUM, Context, Expect, Step
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES
from bot.services.when import Ambiguous, choose, held, pending
from bot.services.when import read as read_moment
from bot.views import four_in_one as views
from bot.views.when import ask_half, half_choices
from handlers.four_in_one.card import card, staff_case
from handlers.four_in_one.common import CaseDraft, Verb, ask, reply, router, stale, zone
from storage.models import FourInOneCase


class Handover(StrEnum):
    TIME = "handover"  # when (or keep the time set)
    PLACE = "handover_place"  # where (or keep the place set)


class HandoverDraft(CaseDraft):
    at: str | None = None  # ISO moment typed at the first step; None keeps the time set
    # The two readings of an hour that may be morning or evening, while it is asked back.
    halves: list[str] = Field(default_factory=list)


@router.action(Verb.HANDOVER, roles=DESK_ROLES, args=(ID,))
async def ask_handover(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return stale(ctx)
    keep = Choice(router.payload(Verb.KEEP_TIME), ctx.t("four_in_one.keep_time"))
    draft = HandoverDraft(case_id=case.id)
    return await ask(ctx, Handover.TIME, "four_in_one.ask_handover_time", draft, keep)


async def _handover_case(ctx: Context) -> FourInOneCase | None:
    case = await staff_case(ctx, str(HandoverDraft.of(ctx).case_id))
    if case is None:
        await ctx.clear_state()
        return None
    return case


async def handover_typed(ctx: Context, text: str) -> list[Reply]:
    """The time first, on its own: a time that cannot be read is said so, not taken as a place.
    While an hour is asked back, "1"/"2" or a part of the day ("yg pagi") picks a reading."""
    case = await _handover_case(ctx)
    if case is None:
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    asked = pending(HandoverDraft.of(ctx).halves)
    picked = choose(asked, text, ZoneInfo(zone(ctx))) if asked is not None else None
    at = picked or read_moment(text[:64], ZoneInfo(zone(ctx)), datetime.now(UTC))
    return await _take_time(ctx, case, at)


@router.action(Verb.HANDOVER_HALF, roles=DESK_ROLES, state=Handover.TIME, args=(NUM,))
async def handover_half(ctx: Context, args: list[str]) -> list[Reply]:
    """A button of the ask-back: 1 the morning reading, 2 the evening one."""
    case = await _handover_case(ctx)
    asked = pending(HandoverDraft.of(ctx).halves) if case is not None else None
    picked = asked.reading(args[0]) if asked is not None else None
    if case is None or picked is None:
        return stale(ctx)
    return await _take_time(ctx, case, picked)


async def _take_time(
    ctx: Context, case: FourInOneCase, at: datetime | Ambiguous[datetime] | None
) -> list[Reply]:
    keep = Choice(router.payload(Verb.KEEP_TIME), ctx.t("four_in_one.keep_time"))
    draft = HandoverDraft.of(ctx)
    if at is None and (asked := pending(draft.halves)) is not None:
        at = asked  # neither a reading nor a new time: the question stands
    if isinstance(at, Ambiguous):
        draft.halves = held(at)
        await router.enter(ctx, Handover.TIME, draft)
        halves = half_choices(ctx.t, at, zone(ctx), lambda n: router.payload(Verb.HANDOVER_HALF, n))
        return reply(ctx, ask_half(ctx.t, at, zone(ctx)), *halves, keep, expects_text=True)
    if draft.halves:
        draft.halves = []
        await router.enter(ctx, Handover.TIME, draft)
    if at is None:
        return reply(ctx, ctx.t("four_in_one.bad_handover_time"), keep, expects_text=True)
    if at < datetime.now(UTC):
        return reply(
            ctx,
            f"{ctx.t('four_in_one.error.past')}\n\n{ctx.t('four_in_one.ask_handover_time')}",
            keep,
        )
    return await _ask_place(ctx, case, at.isoformat())


@router.action(Verb.KEEP_TIME, roles=DESK_ROLES, state=Handover.TIME)
async def handover_keep_time(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _handover_case(ctx)
    if case is None:
        return stale(ctx)
    return await _ask_place(ctx, case, None)


async def _ask_place(ctx: Context, case: FourInOneCase, at: str | None) -> list[Reply]:
    choices = []
    if case.handover_place:
        label = ctx.t("four_in_one.keep_place", place=case.handover_place)[:24]
        choices.append(Choice(router.payload(Verb.KEEP_PLACE), label))
    draft = HandoverDraft(case_id=case.id, at=at)
    return await ask(ctx, Handover.PLACE, "four_in_one.ask_handover_place", draft, *choices)


@router.action(Verb.KEEP_PLACE, roles=DESK_ROLES, state=Handover.PLACE)
async def handover_keep_place(ctx: Context, args: list[str]) -> list[Reply]:
    return await _save_handover(ctx, None)


async def handover_place(ctx: Context, text: str) -> list[Reply]:
    place = " ".join(text.split())[: cases.NAME_LIMIT]
    if len(place) < 3:
        return reply(ctx, ctx.t("four_in_one.ask_handover_place"))
    return await _save_handover(ctx, place)


async def _save_handover(ctx: Context, place: str | None) -> list[Reply]:
    case = await _handover_case(ctx)
    if case is None:
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    raw = HandoverDraft.of(ctx).at
    at = datetime.fromisoformat(raw) if raw is not None else None
    try:
        await cases.set_handover(
            ctx.session, case, at=at, place=place, actor=ctx.actor, zone=zone(ctx)
        )
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    # Until an officer sets a time, the handover is planned for the target itself.
    when = cases.when_text(ctx.t, case.handover_at or case.deadline_at, zone(ctx))
    lead = ctx.t("four_in_one.handover_set", when=when, place=case.handover_place or "-")
    late = views.late_handover(ctx.t, case, zone(ctx))
    if late:
        lead += "\n" + late
    return await card(ctx, case, lead)


router.flow(
    Handover,
    HandoverDraft,
    {
        # A typed "9" is nine o'clock, not the ninth button.
        Handover.TIME: Step(
            handover_typed, roles=DESK_ROLES, expects=(Expect.TEXT, Expect.BARE_NUMBER)
        ),
        Handover.PLACE: Step(handover_place, roles=DESK_ROLES),
    },
)
