"""Tracking a case, the family's side: the code an officer or the report gave, following the
case (and proving it by phone where the officer wrote it down), saying the documents arrived."""

from __future__ import annotations

from enum import StrEnum

from bot.messages import Choice, Reply
from bot.routing import FAMILY, ID, Context, Draft, Expect, Step
from bot.services import four_in_one as cases
from bot.views import four_in_one as views
from handlers.four_in_one import entitlements, questions
from handlers.four_in_one.common import (
    Verb,
    ask,
    followed_case,
    remember_language,
    reply,
    router,
    stale,
    zone,
)
from storage.models import FourInOneCase


class Track(StrEnum):
    CODE = "code"  # the tracking code
    TRACKED = "tracked"  # the case shown: "follow" is a button
    VERIFY = "verify"  # the phone the officer wrote down, shared to prove it is the family's


class TrackDraft(Draft):
    case_id: int | None = None


def _family_choices(case: FourInOneCase, ctx: Context, trusted: bool) -> list[Choice]:
    always = [entitlements.button(ctx, case), questions.ask_button(ctx, case)]
    if case.status == "ready" and trusted:
        received = ctx.t("four_in_one.received_button")
        return [Choice(router.payload(Verb.RECEIVED, case.id), received), *always]
    return always


async def _family_reply(ctx: Context, case: FourInOneCase) -> Reply:
    trusted = await cases.trusted(ctx.session, case, ctx.account)
    view = views.family_view(ctx.t, case, zone(ctx), trusted=trusted)
    return Reply(view, _family_choices(case, ctx, trusted))


@router.command("lacak", "track")
@router.action(Verb.TRACK)
async def track(ctx: Context, args: list[str]) -> list[Reply]:
    if args and args[0].strip():
        return await code_typed(ctx, args[0])
    followed = await cases.cases_of_account(ctx.session, ctx.account)
    if not followed:
        return await ask(ctx, Track.CODE, "four_in_one.ask_code", None)
    await ctx.clear_state()
    replies = [await _family_reply(ctx, c) for c in followed]
    replies[-1].choices += [
        Choice(router.payload(Verb.CODE), ctx.t("four_in_one.other_code")),
        Choice(router.payload(Verb.NEW), ctx.t("four_in_one.report_new")),
        ctx.back_to_menu(),
    ]
    return replies


@router.action(Verb.CODE)
async def ask_code(ctx: Context, args: list[str]) -> list[Reply]:
    return await ask(ctx, Track.CODE, "four_in_one.ask_code", None)


async def code_typed(ctx: Context, text: str) -> list[Reply]:
    # Counted per chat before the lookup, so a stranger's guesses are capped whatever they type.
    limit = ctx.settings.four_in_one_code_attempts
    refused = await ctx.too_many("case-code", limit, "four_in_one.too_many")
    if refused is not None:
        return [refused]
    case = await cases.by_code(ctx.session, text[:64])
    if case is None:
        return reply(ctx, ctx.t("four_in_one.code_unknown"))
    followed = await cases.cases_of_account(ctx.session, ctx.account)
    if any(c.id == case.id for c in followed) and (
        await cases.trusted(ctx.session, case, ctx.account)
        or not await cases.awaits_family(ctx.session, case)
    ):
        # Already followed (the reporter's own code): their view, nothing to follow again. A
        # follower still to prove the officer's phone keeps the button: it leads to that proof.
        await ctx.clear_state()
        shown = await _family_reply(ctx, case)
        shown.choices.append(ctx.back_to_menu())
        return [shown]
    await router.enter(ctx, Track.TRACKED, TrackDraft(case_id=case.id))
    follow_ = Choice(router.payload(Verb.FOLLOW), ctx.t("four_in_one.follow"))
    return reply(ctx, views.family_view(ctx.t, case, zone(ctx)), follow_)


@router.action(Verb.FOLLOW, state=Track.TRACKED)
async def follow(ctx: Context, args: list[str]) -> list[Reply]:
    case_id = TrackDraft.of(ctx).case_id
    await ctx.clear_state()
    case = await _case_by_id(ctx, case_id)
    if case is None:
        return stale(ctx)
    remember_language(ctx)
    await cases.follow(ctx.session, case, ctx.account)
    ctx.roles.add(FAMILY)
    verified = await cases.trusted(ctx.session, case, ctx.account)
    if not verified and await cases.awaits_family(ctx.session, case):
        # The officer wrote down the family's phone: sharing it proves this chat is the family.
        await router.enter(ctx, Track.VERIFY, TrackDraft(case_id=case.id))
        text = f"{ctx.t('four_in_one.following')}\n\n{ctx.t('four_in_one.ask_verify')}"
        return [Reply(text, [ctx.back_to_menu()], request_phone=ctx.t("four_in_one.share_phone"))]
    return [ctx.main_menu(ctx.t("four_in_one.following"))]


async def verify(ctx: Context, text: str) -> list[Reply]:
    shared = ctx.inbound.contact
    case = await _case_by_id(ctx, TrackDraft.of(ctx).case_id)
    await ctx.clear_state()
    if case is None:
        return stale(ctx)
    # Only a phone the platform proves is the sender's counts (Telegram: a contact whose user id
    # is the sender's; WhatsApp: the sender's own wa_id). A typed number, someone else's card or
    # a card without an owner proves nothing; and the phone is taken from the proof itself.
    own = shared is not None and bool(shared.user_ref) and shared.user_ref == ctx.account.user_ref
    proven = shared.phone if own and shared is not None else None
    if proven and await cases.verify_family(ctx.session, case, ctx.account, proven):
        return [ctx.main_menu(ctx.t("four_in_one.verified"))]
    return [ctx.main_menu(ctx.t("four_in_one.not_verified"))]


async def _case_by_id(ctx: Context, case_id: int | None) -> FourInOneCase | None:
    if case_id is None:
        return None
    return await ctx.session.get(FourInOneCase, case_id)


@router.action(Verb.RECEIVED, args=(ID,))
async def ask_received(ctx: Context, args: list[str]) -> list[Reply]:
    """Saying the documents arrived closes the case: asked once more, in words."""
    case = await followed_case(ctx, args[0])
    if case is None or case.status != "ready":
        return stale(ctx)
    if not await cases.trusted(ctx.session, case, ctx.account):
        return [ctx.main_menu(ctx.t("four_in_one.error.not_family"))]
    return [
        Reply(
            ctx.t("four_in_one.ask_received", number=case.id),
            [
                Choice(
                    router.payload(Verb.RECEIVED_OK, case.id), ctx.t("four_in_one.received_yes")
                ),
                Choice(router.payload(Verb.TRACK), ctx.t("four_in_one.not_yet")),
                ctx.back_to_menu(),
            ],
        )
    ]


@router.action(Verb.RECEIVED_OK, args=(ID,))
async def received(ctx: Context, args: list[str]) -> list[Reply]:
    case = await followed_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    if not await cases.trusted(ctx.session, case, ctx.account):
        return [ctx.main_menu(ctx.t("four_in_one.error.not_family"))]
    try:
        await cases.confirm_receipt(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return [ctx.main_menu(ctx.t(exc.reason.value))]
    return [ctx.main_menu(ctx.t("four_in_one.thanks_received"))]


TRACKING = router.flow(
    Track,
    TrackDraft,
    {
        Track.CODE: Step(code_typed),
        Track.TRACKED: Step(None),
        Track.VERIFY: Step(verify, expects=(Expect.TEXT, Expect.CONTACT)),
    },
)
