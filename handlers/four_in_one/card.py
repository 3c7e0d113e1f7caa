"""The officers' desk: a case's card, and setting a document's status (with a note)."""

from __future__ import annotations

from enum import StrEnum

from bot.messages import Choice, Reply
from bot.routing import ID, NUM, WORD, Context, Step
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES, DOCUMENTS, STAFF_ROLES, STATUSES, questions
from bot.services.four_in_one.closing import reopenable
from bot.views import four_in_one as views
from bot.views import questions as questions_view
from handlers.four_in_one.common import (
    CaseDraft,
    Verb,
    ask,
    at_desk,
    back_to_card,
    reply,
    router,
    stale,
    zone,
)
from storage.models import FourInOneCase


class Note(StrEnum):
    TEXT = "note"  # a note for the family with a document's new status (or none)


class NoteDraft(CaseDraft):
    kind: str  # the document
    status: str  # its new status


async def staff_case(ctx: Context, raw: str) -> FourInOneCase | None:
    """The case a payload (or a step's draft) names, if this officer may see it."""
    if not raw.isdigit():
        return None
    return await cases.case_for_staff(ctx.session, ctx.agency.id, int(raw), ctx.roles)


@router.action(Verb.SHOW, roles=STAFF_ROLES, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    return await card(ctx, case)


async def card(ctx: Context, case: FourInOneCase, lead: str | None = None) -> list[Reply]:
    await ctx.clear_state()
    cases.read_by_staff(ctx.session, case, ctx.actor, "chat")
    text = views.staff_view(ctx.t, case, zone(ctx))
    exchange = await questions.of_case(ctx.session, case.id)
    if exchange:  # the family's questions and the desk's answers, kept with the case
        text += "\n\n" + questions_view.exchange(ctx.t, exchange, zone(ctx))
    choices = []
    if case.status in cases.LIVE:
        choices = [
            Choice(
                router.payload(Verb.DOC, case.id, d.kind),
                ctx.t(f"four_in_one.doc_short.{d.kind}"),
            )
            for d in case.documents
            if cases.may_update(ctx.roles, d.kind)
        ]
    if case.status == cases.DUPLICATE and at_desk(ctx):
        # A report that repeats a case: the desk merges it into that case or rejects it.
        survivor = await cases.duplicate_target(ctx.session, case)
        if survivor is not None:
            label = ctx.t("four_in_one.merge_button", survivor=survivor.id)
            choices.append(Choice(router.payload(Verb.MERGE, case.id), label[:24]))
        choices.append(
            Choice(router.payload(Verb.REJECT, case.id), ctx.t("four_in_one.reject_button"))
        )
    # Buttons that are always there come first and buttons that come and go after them, so a
    # typed number keeps its meaning when one appears or goes (confirming a death, all ready).
    if case.status in cases.LIVE and ctx.has_any(DESK_ROLES):
        choices.append(
            Choice(router.payload(Verb.HANDOVER, case.id), ctx.t("four_in_one.set_handover"))
        )
    if case.status in cases.LIVE and ctx.has_any(DESK_ROLES):
        # Rarer actions wait one tap away: a chat shows ten buttons at most.
        choices.append(
            Choice(router.payload(Verb.MORE, case.id), ctx.t("four_in_one.more_actions"))
        )
    usable = case.status not in cases.NOT_CASES
    if usable and case.employee_id and not case.match_confirmed_at and at_desk(ctx):
        choices.append(
            Choice(router.payload(Verb.MATCH, case.id), ctx.t("four_in_one.confirm_match"))
        )
    if reopenable(case) and ctx.has_any(DESK_ROLES):
        choices.append(Choice(router.payload(Verb.REOPEN, case.id), ctx.t("four_in_one.reopen")))
    if case.status == "ready" and ctx.has_any(DESK_ROLES):
        handed_ = ctx.t("four_in_one.handed_button")
        choices.append(Choice(router.payload(Verb.HANDED, case.id), handed_))
    choices.append(Choice(router.payload(Verb.QUEUE), ctx.t("four_in_one.to_queue"), nav="back"))
    return reply(ctx, f"{lead}\n\n{text}" if lead else text, *choices)


@router.action(Verb.DOC, roles=STAFF_ROLES, args=(ID, WORD))
async def doc(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or args[1] not in DOCUMENTS or not cases.may_update(ctx.roles, args[1]):
        return stale(ctx)
    choices = [
        Choice(
            router.payload(Verb.SET_STATUS, case.id, args[1], i), ctx.t(f"four_in_one.status.{s}")
        )
        for i, s in enumerate(STATUSES)
    ]
    choices.append(back_to_card(ctx, case.id))
    text = ctx.t("four_in_one.pick_status", doc=ctx.t(f"four_in_one.doc.{args[1]}"))
    return reply(ctx, text, *choices)


@router.action(Verb.SET_STATUS, roles=STAFF_ROLES, args=(ID, WORD, NUM))
async def set_status(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    valid = args[2].isdigit() and int(args[2]) < len(STATUSES) and args[1] in DOCUMENTS
    if case is None or not valid:
        return stale(ctx)
    draft = NoteDraft(case_id=case.id, kind=args[1], status=STATUSES[int(args[2])])
    skip = Choice(router.payload(Verb.NO_NOTE), ctx.t("four_in_one.no_note"))
    return await ask(ctx, Note.TEXT, "four_in_one.ask_note", draft, skip)


@router.action(Verb.NO_NOTE, roles=STAFF_ROLES, state=Note.TEXT)
async def no_note(ctx: Context, args: list[str]) -> list[Reply]:
    return await _apply(ctx, None)


async def note(ctx: Context, text: str) -> list[Reply]:
    return await _apply(ctx, text)


async def _apply(ctx: Context, note_: str | None) -> list[Reply]:
    draft = NoteDraft.of(ctx)
    case = await staff_case(ctx, str(draft.case_id))
    if case is None:
        await ctx.clear_state()
        return stale(ctx)
    try:
        changed = await cases.set_document(
            ctx.session,
            case,
            draft.kind,
            draft.status,
            actor=ctx.actor,
            roles=ctx.roles,
            zone=zone(ctx),
            note=note_,
        )
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    key = "four_in_one.unchanged"
    if changed:
        in_chat = any(c.account_id for c in case.contacts)
        key = "four_in_one.saved" if in_chat else "four_in_one.saved_no_chat"
    return await card(ctx, case, ctx.t(key))


router.flow(Note, NoteDraft, {Note.TEXT: Step(note, roles=STAFF_ROLES)})
