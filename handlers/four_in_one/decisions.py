"""Decisions an officer takes on a case: a duplicate merged or rejected, the roster match
confirmed (or a NIP attached for it), a new code, a cancellation, the closing at the desk and
its undoing. Each is asked once more, naming the case, before anything changes."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from bot.messages import Choice, Reply
from bot.routing import ID, Context, Step
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES, closing
from bot.services.four_in_one.closing import aware, reopenable
from handlers.four_in_one.card import card, staff_case
from handlers.four_in_one.common import (
    CaseDraft,
    Verb,
    ask,
    back_to_card,
    confirm,
    reply,
    router,
    stale,
    zone,
)
from storage.models import Employee, FourInOneCase


class Attach(StrEnum):
    NIP = "attach"  # the NIP of the employee the case is about, when the report had none


class Cancel(StrEnum):
    REASON = "cancel"  # why the case is cancelled; then a button confirms


class CancelDraft(CaseDraft):
    reason: str | None = None


async def _duplicate(ctx: Context, raw: str) -> FourInOneCase | None:
    """A pending duplicate of the asking officer's agency, re-read from the database."""
    case = await staff_case(ctx, raw)
    return case if case is not None and case.status == cases.DUPLICATE else None


@router.action(Verb.MERGE, roles=DESK_ROLES, args=(ID,))
async def ask_merge_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    """Merging says first what will happen: the officer confirms the very case it goes into."""
    case = await _duplicate(ctx, args[0])
    survivor = await cases.duplicate_target(ctx.session, case) if case is not None else None
    if case is None or survivor is None:
        return stale(ctx)
    text = ctx.t("four_in_one.ask_merge_duplicate", number=case.id, survivor=survivor.id)
    return confirm(ctx, case.id, text, Verb.MERGE_OK, "four_in_one.merge_yes", survivor.id)


@router.action(Verb.MERGE_OK, roles=DESK_ROLES, args=(ID, ID))
async def merge_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None or not args[1].isdigit():
        return stale(ctx)
    try:
        survivor = await cases.merge_duplicate(ctx.session, case, int(args[1]), ctx.actor)
    except cases.CaseRefused:
        # The case shown is no longer where this report would go: nothing was changed.
        return stale(ctx)
    return await card(ctx, survivor, ctx.t("four_in_one.duplicate_merged", number=case.id))


@router.action(Verb.REJECT, roles=DESK_ROLES, args=(ID,))
async def ask_reject_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None:
        return stale(ctx)
    return confirm(
        ctx,
        case.id,
        ctx.t("four_in_one.ask_reject_duplicate", number=case.id),
        Verb.REJECT_OK,
        "four_in_one.reject_yes",
    )


@router.action(Verb.REJECT_OK, roles=DESK_ROLES, args=(ID,))
async def reject_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None:
        return stale(ctx)
    await cases.reject_duplicate(ctx.session, case, ctx.actor)
    return await card(ctx, case, ctx.t("four_in_one.duplicate_rejected", number=case.id))


@router.action(Verb.MATCH, roles=DESK_ROLES, args=(ID,))
async def ask_match(ctx: Context, args: list[str]) -> list[Reply]:
    """Marking someone deceased cannot be undone by the family: the officer confirms first."""
    case = await staff_case(ctx, args[0])
    if case is None or case.employee_id is None or case.status in cases.NOT_CASES:
        return stale(ctx)
    employee = await ctx.session.get(Employee, case.employee_id)
    if employee is None:
        return stale(ctx)
    text = ctx.t("four_in_one.ask_match", name=employee.name, nip=employee.nip, number=case.id)
    return confirm(ctx, case.id, text, Verb.MATCH_OK, "four_in_one.match_yes")


@router.action(Verb.MATCH_OK, roles=DESK_ROLES, args=(ID,))
async def confirm_match(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    try:
        survivor = await cases.confirm_match(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    key = "four_in_one.matched_merged" if survivor.id != case.id else "four_in_one.matched"
    return await card(ctx, survivor, ctx.t(key, number=case.id))


@router.action(Verb.MORE, roles=DESK_ROLES, args=(ID,))
async def more(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return stale(ctx)
    choices = []
    if case.match_confirmed_at is None:
        choices.append(
            Choice(router.payload(Verb.ATTACH, case.id), ctx.t("four_in_one.attach_nip"))
        )
    if case.opened_via == "officer":
        choices.append(
            Choice(router.payload(Verb.NEW_CODE, case.id), ctx.t("four_in_one.new_code"))
        )
    choices.append(Choice(router.payload(Verb.CANCEL, case.id), ctx.t("four_in_one.cancel")))
    choices.append(back_to_card(ctx, case.id))
    return reply(ctx, ctx.t("four_in_one.more_head", number=case.id), *choices)


@router.action(Verb.NEW_CODE, roles=DESK_ROLES, args=(ID,))
async def new_code(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    try:
        code = await cases.reissue_code(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    return await card(ctx, case, ctx.t("four_in_one.code_reissued", code=code))


@router.action(Verb.ATTACH, roles=DESK_ROLES, args=(ID,))
async def ask_attach(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return stale(ctx)
    return await ask(ctx, Attach.NIP, "four_in_one.ask_attach", CaseDraft(case_id=case.id))


async def attach_typed(ctx: Context, text: str) -> list[Reply]:
    case = await staff_case(ctx, str(CaseDraft.of(ctx).case_id))
    if case is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    if not cases.is_nip(text):
        return reply(ctx, ctx.t("four_in_one.ask_attach"))
    try:
        await cases.attach_candidate(ctx.session, case, text)
    except cases.CaseRefused as exc:
        return reply(ctx, f"{ctx.t(exc.reason.value)}\n\n{ctx.t('four_in_one.ask_attach')}")
    await ctx.clear_state()
    return await ask_match(ctx, [str(case.id)])


@router.action(Verb.CANCEL, roles=DESK_ROLES, args=(ID,))
async def ask_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return stale(ctx)
    back = back_to_card(ctx, case.id)
    draft = CancelDraft(case_id=case.id)
    return await ask(ctx, Cancel.REASON, "four_in_one.ask_cancel", draft, back)


async def cancel_typed(ctx: Context, text: str) -> list[Reply]:
    case = await staff_case(ctx, str(CancelDraft.of(ctx).case_id))
    if case is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    if len(text.strip()) < 3:
        return reply(ctx, ctx.t("four_in_one.ask_cancel"))
    reason = " ".join(text.split())[: cases.NOTE_LIMIT]
    await router.enter(ctx, Cancel.REASON, CancelDraft(case_id=case.id, reason=reason))
    question = ctx.t(
        "four_in_one.confirm_cancel", number=case.id, name=case.deceased_name, reason=reason
    )
    return confirm(ctx, case.id, question, Verb.CANCEL_OK, "four_in_one.cancel_yes")


@router.action(Verb.CANCEL_OK, roles=DESK_ROLES, state=Cancel.REASON, args=(ID,))
async def cancel_confirmed(ctx: Context, args: list[str]) -> list[Reply]:
    draft = CancelDraft.of(ctx)
    case = await staff_case(ctx, args[0])
    if case is None or draft.case_id != case.id or not draft.reason:
        await ctx.clear_state()
        return stale(ctx)
    try:
        await cases.cancel_case(ctx.session, case, actor=ctx.actor, reason=draft.reason)
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    return await card(ctx, case, ctx.t("four_in_one.cancelled"))


# --- Undoing a closing made by mistake ----------------------------------------------------------


@router.action(Verb.REOPEN, roles=DESK_ROLES, args=(ID,))
async def ask_reopen(ctx: Context, args: list[str]) -> list[Reply]:
    case = await staff_case(ctx, args[0])
    if case is None or not reopenable(case):
        return stale(ctx)
    return confirm(
        ctx,
        case.id,
        ctx.t("four_in_one.ask_reopen", number=case.id, name=case.deceased_name),
        Verb.REOPEN_OK,
        "four_in_one.reopen_yes",
    )


@router.action(Verb.REOPEN_OK, roles=DESK_ROLES, args=(ID,))
async def reopen(ctx: Context, args: list[str]) -> list[Reply]:
    """A case closed by mistake goes back to "ready": the documents the closing marked handed
    over are ready again, and the history and the audit log say who undid it."""
    case = await staff_case(ctx, args[0])
    if case is None or not reopenable(case):
        return stale(ctx)
    await closing.reopen(ctx.session, case, ctx.actor)
    return await card(ctx, case, ctx.t("four_in_one.reopened", number=case.id))


@router.action(Verb.HANDED, roles=DESK_ROLES, args=(ID,))
async def ask_handed(ctx: Context, args: list[str]) -> list[Reply]:
    """Closing a case is asked first, naming the case; before the set handover it says so."""
    case = await staff_case(ctx, args[0])
    if case is None or case.status != "ready":
        return stale(ctx)
    text = ctx.t("four_in_one.ask_handed", number=case.id, name=case.deceased_name)
    at = aware(case.handover_at)
    if at is not None and at > datetime.now(UTC):
        when = cases.when_text(ctx.t, at, zone(ctx))
        text = f"{ctx.t('four_in_one.handed_early', when=when)}\n\n{text}"
    return confirm(ctx, case.id, text, Verb.HANDED_OK, "four_in_one.handed_yes")


@router.action(Verb.HANDED_OK, roles=DESK_ROLES, args=(ID,))
async def handed(ctx: Context, args: list[str]) -> list[Reply]:
    """An officer records that the family received the four documents (at the desk)."""
    case = await staff_case(ctx, args[0])
    if case is None:
        return stale(ctx)
    try:
        await closing.close_at_desk(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await card(ctx, case, ctx.t(exc.reason.value))
    return await card(ctx, case, ctx.t("four_in_one.handed_saved"))


router.flow(Attach, CaseDraft, {Attach.NIP: Step(attach_typed, roles=DESK_ROLES)})
router.flow(Cancel, CancelDraft, {Cancel.REASON: Step(cancel_typed, roles=DESK_ROLES)})
