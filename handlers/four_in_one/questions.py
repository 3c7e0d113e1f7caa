"""💬 "Tanya petugas": a family writes to the 4-in-1 desk from its case's screens (a preview,
then sent), every desk officer is told, an officer opens the question from the desk and answers
(a preview, then sent), and the answer reaches the chat that asked. Outside office hours the
family is told when the desk opens. Every payload is re-checked: a family's case must be one it
follows, an officer's question one of their own agency."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from bot import dates
from bot.messages import Choice, Reply
from bot.routing import ID, Context, Draft, Expect, Step
from bot.services import audit
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES
from bot.services.four_in_one import questions as asked
from bot.services.office_hours import parse as office_hours
from bot.views import questions as views
from handlers.four_in_one.common import (
    PAGE,
    Verb,
    ask_text,
    followed_case,
    remember_language,
    reply,
    router,
    stale,
    zone,
)
from storage.models import FourInOneCase


class Ask(StrEnum):
    TEXT = "asktext"  # the family's question
    CONFIRM = "askconfirm"  # its preview: send, change or go back


class AskDraft(Draft):
    case_id: int
    question: str | None = None


class Answer(StrEnum):
    TEXT = "answertext"  # the officer's answer
    CONFIRM = "answerconfirm"  # its preview


class AnswerDraft(Draft):
    question_id: int
    answer: str | None = None


def ask_button(ctx: Context, case: FourInOneCase) -> Choice:
    return Choice(router.payload(Verb.ASK, case.id), ctx.t("questions.button"))


def _to_case(ctx: Context) -> Choice:
    return Choice(router.payload(Verb.TRACK), ctx.t("button.back"), nav="back")


# -- the family's side ------------------------------------------------------------------------


@router.action(Verb.ASK, args=(ID,))
async def start_question(ctx: Context, args: list[str]) -> list[Reply]:
    case = await followed_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    text = ctx.t("questions.ask", number=case.id)
    return await ask_text(ctx, Ask.TEXT, text, AskDraft(case_id=case.id), _to_case(ctx))


async def question_typed(ctx: Context, text: str) -> list[Reply]:
    draft = AskDraft.of(ctx)
    typed = text.strip()[: asked.QUESTION_LIMIT]
    if not typed:
        return reply(ctx, ctx.t("questions.empty"), _to_case(ctx), expects_text=True)
    await router.enter(ctx, Ask.CONFIRM, AskDraft(case_id=draft.case_id, question=typed))
    return reply(
        ctx,
        ctx.t("questions.preview", text=typed),
        Choice(router.payload(Verb.ASK_SEND), ctx.t("questions.send")),
        Choice(router.payload(Verb.ASK, draft.case_id), ctx.t("questions.change")),
        _to_case(ctx),
    )


@router.action(Verb.ASK_SEND, state=Ask.CONFIRM)
async def send_question(ctx: Context, args: list[str]) -> list[Reply]:
    draft = AskDraft.of(ctx)
    await ctx.clear_state()
    case = await followed_case(ctx, str(draft.case_id))
    if case is None or not draft.question:
        return stale(ctx)
    now = datetime.now(UTC)
    remember_language(ctx)
    await asked.ask(ctx.session, case, ctx.account, draft.question, now)
    lead = ctx.t("questions.sent", number=case.id)
    opening = office_hours(ctx.settings.office_hours).next_opening(now, zone(ctx))
    if opening is not None:
        when = dates.moment(opening, zone(ctx), ctx.t)
        lead += "\n\n" + ctx.t("questions.after_hours", when=when)
    return [ctx.main_menu(lead)]


# -- the desk's side --------------------------------------------------------------------------


def _to_list(ctx: Context) -> Choice:
    return Choice(router.payload(Verb.QUESTIONS), ctx.t("questions.to_list"), nav="back")


@router.action(Verb.QUESTIONS, roles=DESK_ROLES)
async def open_list(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    rows = await asked.open_questions(ctx.session, ctx.agency.id, PAGE)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.questions",
        agency_id=ctx.agency.id,
        questions=[q.id for q in rows],
    )
    lines = [views.line(ctx.t, q, zone(ctx)) for q in rows]
    choices = [
        Choice(
            router.payload(Verb.QUESTION, q.id),
            ctx.t("questions.item", id=q.id, number=q.case_id)[:24],
        )
        for q in rows
    ]
    choices.append(Choice(router.payload(Verb.QUEUE), ctx.t("four_in_one.to_queue"), nav="back"))
    head = ctx.t("questions.list_head" if rows else "questions.list_empty")
    return reply(ctx, "\n".join([head, *lines]), *choices)


@router.action(Verb.QUESTION, roles=DESK_ROLES, args=(ID,))
async def open_question(ctx: Context, args: list[str]) -> list[Reply]:
    question = await asked.for_staff(ctx.session, ctx.agency.id, int(args[0]))
    if question is None:
        return stale(ctx)
    case = await cases.case_for_staff(ctx.session, ctx.agency.id, question.case_id, ctx.roles)
    if case is None:
        return stale(ctx)
    cases.read_by_staff(ctx.session, case, ctx.actor, "chat")
    shown = ctx.t(
        "questions.show", id=question.id, number=case.id, name=case.deceased_name,
        text=question.question,
    )  # fmt: skip
    open_case = Choice(router.payload(Verb.SHOW, case.id), ctx.t("four_in_one.open_case"))
    if question.answered_at is not None:
        await ctx.clear_state()
        done = ctx.t("questions.history_answer", text=question.answer or "")
        return reply(ctx, f"{shown}\n{done}", open_case, _to_list(ctx))
    draft = AnswerDraft(question_id=question.id)
    text = f"{shown}\n\n{ctx.t('questions.ask_answer')}"
    return await ask_text(ctx, Answer.TEXT, text, draft, open_case, _to_list(ctx))


async def answer_typed(ctx: Context, text: str) -> list[Reply]:
    draft = AnswerDraft.of(ctx)
    typed = text.strip()[: asked.QUESTION_LIMIT]
    if not typed:
        return reply(ctx, ctx.t("questions.empty"), _to_list(ctx), expects_text=True)
    await router.enter(
        ctx, Answer.CONFIRM, AnswerDraft(question_id=draft.question_id, answer=typed)
    )
    return reply(
        ctx,
        ctx.t("questions.answer_preview", id=draft.question_id, text=typed),
        Choice(router.payload(Verb.ANSWER_SEND), ctx.t("questions.send")),
        Choice(router.payload(Verb.QUESTION, draft.question_id), ctx.t("questions.change")),
        _to_list(ctx),
    )


@router.action(Verb.ANSWER_SEND, roles=DESK_ROLES, state=Answer.CONFIRM)
async def send_answer(ctx: Context, args: list[str]) -> list[Reply]:
    draft = AnswerDraft.of(ctx)
    await ctx.clear_state()
    question = await asked.for_staff(ctx.session, ctx.agency.id, draft.question_id)
    if question is None or not draft.answer:
        return stale(ctx)
    sent = await asked.answer(ctx.session, question, draft.answer, ctx.actor, datetime.now(UTC))
    key = "questions.answered" if sent is not None else "questions.already_answered"
    listed = await open_list(ctx, [])
    listed[0].text = f"{ctx.t(key, id=question.id)}\n\n{listed[0].text}"
    return listed


router.flow(
    Ask,
    AskDraft,
    {
        Ask.TEXT: Step(question_typed, expects=(Expect.TEXT, Expect.BARE_NUMBER)),
        Ask.CONFIRM: Step(question_typed),
    },
)
router.flow(
    Answer,
    AnswerDraft,
    {
        Answer.TEXT: Step(
            answer_typed, roles=DESK_ROLES, expects=(Expect.TEXT, Expect.BARE_NUMBER)
        ),
        Answer.CONFIRM: Step(answer_typed, roles=DESK_ROLES),
    },
)
