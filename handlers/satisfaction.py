"""The family's answer to the satisfaction question (SKM) sent the day after they confirmed
receipt: a score button, then an optional comment they may skip. Every button is re-checked
against the case (asked, and this chat its verified family) in bot/services/four_in_one/."""

from __future__ import annotations

from enum import StrEnum

from bot.messages import Choice, Reply
from bot.routing import ID, NUM, Context, Draft, Expect, Router, Step
from bot.services.four_in_one import satisfaction
from storage.models import utcnow

router = Router(satisfaction.ROUTER)


class Survey(StrEnum):
    COMMENT = "await_comment"


class SurveyDraft(Draft):
    case_id: int | None = None


@router.action("score", args=(ID, NUM))
async def score(ctx: Context, args: list[str]) -> list[Reply]:
    case_id, value = int(args[0]), int(args[1])
    outcome = await satisfaction.answer(ctx.session, case_id, ctx.account, value, utcnow())
    if outcome == satisfaction.Answer.REFUSED:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    if outcome == satisfaction.Answer.ALREADY:
        return [ctx.main_menu(ctx.t("skm.already"))]
    await router.enter(ctx, Survey.COMMENT, SurveyDraft(case_id=case_id))
    skip = Choice(router.payload("skip", case_id), ctx.t("skm.skip"))
    return [Reply(ctx.t("skm.ask_comment"), [skip, ctx.back_to_menu()], expects_text=True)]


async def got_comment(ctx: Context, text: str) -> list[Reply]:
    draft = SurveyDraft.of(ctx)
    await ctx.clear_state()
    if draft.case_id is None or not text.strip():
        return [ctx.main_menu(ctx.t("skm.thanks"))]
    await satisfaction.comment(ctx.session, draft.case_id, ctx.account, text)
    return [ctx.main_menu(ctx.t("skm.thanks"))]


@router.action("skip", args=(ID,))
async def skip(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    return [ctx.main_menu(ctx.t("skm.thanks"))]


router.flow(
    Survey,
    SurveyDraft,
    {Survey.COMMENT: Step(got_comment, expects=(Expect.TEXT, Expect.BARE_NUMBER))},
)
