"""The console's 4-in-1 desk: the queue by deadline, a case's card (documents, family, history,
questions), the status, handover and decision forms, and the SLA report.

Every form calls the service the chat's desk calls (`bot/services/four_in_one`), with the chat's
rules for who may see a case and move a document (`case_for_staff`, `may_update`). Two sets of
roles meet here: `DESK_ROLES` from the console lets officers, HR and the TASPEN/Dukcapil liaisons
in; `CASE_DESK` (officers and HR) is the chat's desk, who may act on any case of the agency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy

from bot import dates
from bot.cli.cases import MONTH
from bot.hr_web.context import (
    BAD_PAGE,
    DESK_ROLES,
    HR_ROLES,
    Paging,
    WebContext,
    form,
    page,
    page_asked,
    redirect,
)
from bot.hr_web.desk_report import chart
from bot.i18n import Translator
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES as CASE_DESK
from bot.services.four_in_one import closing, questions
from bot.services.four_in_one.deadline import zone_abbreviation
from bot.views import four_in_one as views
from storage.models import CaseQuestion, Employee, FourInOneCase
from storage.statuses import CaseStatus

routes = web.RouteTableDef()
PAGE_SIZE = 20
CASE = r"{case_id:\d{1,9}}"
# The queue's stage filter: "" is every live case; pending duplicates are the desk's only.
STAGES: dict[str, tuple[str, ...]] = {
    "": cases.LIVE,
    "open": (CaseStatus.OPEN,),
    "ready": (CaseStatus.READY,),
    "duplicate": (CaseStatus.DUPLICATE,),
}
DESK_ONLY_STAGES = {"duplicate"}
# What a redirect after a change says on the card (a whitelist: the query names a catalog id).
NOTICES = {
    "saved": "four_in_one.saved",
    "saved_no_chat": "four_in_one.saved_no_chat",
    "unchanged": "four_in_one.unchanged",
    "handover": "web.desk.handover_saved",
    "answered": "web.desk.answered",
    "already_answered": "web.desk.already_answered",
    "merged": "web.desk.merged",
    "rejected": "web.desk.rejected",
    "matched": "four_in_one.matched",
    "cancelled": "four_in_one.cancelled",
    "handed": "four_in_one.handed_saved",
    "reopened": "web.desk.reopened",
}
# Words the templates show for stored codes (ids named in full: the catalog check reads them).
OWNERS = {"taspen": "web.desk.owner.taspen", "dukcapil": "web.desk.owner.dukcapil"}
STAGE_FILTERS = {
    "": "web.desk.stage_filter.live",
    "open": "web.desk.stage_filter.open",
    "ready": "web.desk.stage_filter.ready",
    "duplicate": "web.desk.stage_filter.duplicate",
}
DECISION_LABELS = {
    "merge": "web.desk.decision.merge",
    "reject": "web.desk.decision.reject",
    "match": "web.desk.decision.match",
    "handed": "web.desk.decision.handed",
    "reopen": "web.desk.decision.reopen",
    "cancel": "web.desk.decision.cancel",
}
DOC_SHORT = {
    "taspen_book": "web.desk.doc_short.taspen_book",
    "death_certificate": "web.desk.doc_short.death_certificate",
    "family_card": "web.desk.doc_short.family_card",
    "id_card": "web.desk.doc_short.id_card",
}
# The history's event kinds in words; any other is shown as "other".
EVENTS = {
    "opened": "web.desk.event.opened",
    "status": "web.desk.event.status",
    "ready": "web.desk.event.ready",
    "handover": "web.desk.event.handover",
    "received": "web.desk.event.received",
    "cancelled": "web.desk.event.cancelled",
    "reopened": "web.desk.event.reopened",
    "matched": "web.desk.event.matched",
    "renamed": "web.desk.event.renamed",
    "merged": "web.desk.event.merged",
    "rejected": "web.desk.event.rejected",
    "duplicate": "web.desk.event.duplicate",
    "escalated": "web.desk.event.escalated",
    "question": "web.desk.event.question",
    "answer": "web.desk.event.answer",
    "code": "web.desk.event.code",
    "system": "web.desk.event.system",
}


def words(t: Translator) -> dict[str, dict[str, str]]:
    """Stored codes (stages, documents, statuses…) in the officer's language, for templates."""
    named = {
        "owner": OWNERS,
        "stage_filter": STAGE_FILTERS,
        "decision": DECISION_LABELS,
        "doc_short": DOC_SHORT,
        "event": EVENTS,
    }
    found = {name: {code: t(key) for code, key in keys.items()} for name, keys in named.items()}
    found["stage"] = {s: t(f"four_in_one.stage.{s}") for s in CaseStatus}
    found["doc"] = {k: t(f"four_in_one.doc.{k}") for k in cases.DOCUMENTS}
    found["status"] = {s: t(f"four_in_one.status.{s}") for s in cases.STATUSES}
    found["relation"] = {r: t(f"four_in_one.relation.{r}") for r in cases.RELATIONS}
    return found


def render(ctx: WebContext, template: str, status: int = 200, **values: Any) -> web.Response:
    return ctx.render(template, status=status, w=words(ctx.t), **values)


def zone(ctx: WebContext) -> str:
    return ctx.agency.timezone


def at_desk(ctx: WebContext) -> bool:
    return ctx.has_any(CASE_DESK)


def _number(raw: object, default: int, top: int) -> int | None:
    """A positive whole number from a query or form, or None when it is not one (a file sent
    in a form field's place included)."""
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or not raw.isdigit() or not 1 <= int(raw) <= top:
        return None
    return int(raw)


# --- The queue ----------------------------------------------------------------------------------


@routes.get("/desk", name="desk")
@page(roles=DESK_ROLES)
async def queue(ctx: WebContext) -> web.StreamResponse:
    query = ctx.request.query
    stage = query.get("status", "")
    overdue_only = query.get("overdue", "") == "1"
    asked = page_asked(ctx.request)
    stages = [s for s in STAGES if at_desk(ctx) or s not in DESK_ONLY_STAGES]
    if stage not in stages or query.get("overdue", "") not in ("", "1"):
        return await _queue_page(ctx, "", False, 1, stages, error="web.desk.bad_filter")
    if asked is None:
        return await _queue_page(ctx, stage, overdue_only, 1, stages, error=BAD_PAGE)
    return await _queue_page(ctx, stage, overdue_only, asked, stages)


async def _queue_page(
    ctx: WebContext,
    stage: str,
    overdue_only: bool,
    page_no: int,
    stages: list[str],
    error: str | None = None,
) -> web.StreamResponse:
    now = datetime.now(UTC)
    statuses, overdue_at = STAGES[stage], now if overdue_only else None
    roles, agency_id = set(ctx.roles), ctx.agency.id
    total = await cases.count_queue(
        ctx.session, agency_id, roles, statuses=statuses, overdue_at=overdue_at
    )
    paging = Paging.of(page_no, total, PAGE_SIZE)
    rows = await cases.queue(
        ctx.session,
        agency_id,
        roles,
        PAGE_SIZE,
        paging.offset,
        statuses=statuses,
        overdue_at=overdue_at,
    )
    ctx.audit("case.queue", cases=[c.id for c in rows])
    waiting = (
        await questions.open_questions(ctx.session, agency_id, PAGE_SIZE) if at_desk(ctx) else []
    )
    if waiting:  # the family's words: a read the audit log names, as the chat's list does
        ctx.audit("case.questions", questions=[q.id for q in waiting])
    return render(
        ctx,
        "desk.html",
        status=400 if error else 200,
        error=error,
        rows=[_row(c, now) for c in rows],
        total=total,
        page_no=paging.current,
        pages=paging.last,
        stage=stage,
        stages=stages,
        overdue_only=overdue_only,
        zone=zone(ctx),
        questions_open=await questions.count_open(ctx.session, agency_id) if waiting else 0,
        waiting=waiting,
        preview=questions.PREVIEW,
        duplicates=await cases.count_duplicates(ctx.session, agency_id) if at_desk(ctx) else 0,
        is_hr=ctx.has_any(HR_ROLES),
    )


@dataclass(frozen=True)
class Row:
    case: FourInOneCase
    ready: int
    overdue: bool


def _row(case: FourInOneCase, now: datetime) -> Row:
    ready = sum(d.status in cases.READY for d in case.documents)
    due = closing.aware(case.deadline_at)
    return Row(case, ready, case.status in cases.LIVE and due is not None and due < now)


# --- The case card ------------------------------------------------------------------------------


async def _case(ctx: WebContext) -> FourInOneCase | None:
    """The case the URL names, only if this officer may see it (the chat's rule): another
    agency's case, or a case a liaison has nothing waiting on, is not found."""
    raw = ctx.request.match_info["case_id"]
    return await cases.case_for_staff(ctx.session, ctx.agency.id, int(raw), set(ctx.roles))


def _missing(ctx: WebContext) -> web.StreamResponse:
    return render(ctx, "desk_missing.html", status=404)


@routes.get(f"/desk/{CASE}", name="desk_case")
@page(roles=DESK_ROLES)
async def case_card(ctx: WebContext) -> web.StreamResponse:
    case = await _case(ctx)
    if case is None:
        return _missing(ctx)
    done = NOTICES.get(ctx.request.query.get("done", ""))
    number = _number(ctx.request.query.get("n"), case.id, 10**9)
    return await _card(ctx, case, notice=ctx.t(done, number=number) if done else None)


async def _card(
    ctx: WebContext,
    case: FourInOneCase,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    values: dict[str, str] | None = None,
) -> web.StreamResponse:
    """The card, as the chat's desk shows it; every showing is an audited read."""
    cases.read_by_staff(ctx.session, case, ctx.actor, "web")
    events = await cases.history(ctx.session, case)
    names = await cases.actor_names(ctx.session, ctx.t, case, {e.actor for e in events})
    live = case.status in cases.LIVE
    movable = {d.kind for d in case.documents if live and cases.may_update(set(ctx.roles), d.kind)}
    contacts = [c for c in case.contacts if c.name or c.phone]
    chats = {c.account_id for c in case.contacts if c.account_id is not None}
    verified = {c.account_id for c in case.contacts if c.account_id is not None and c.verified}
    local_now = datetime.now(ZoneInfo(zone(ctx))).strftime("%Y-%m-%dT%H:%M")
    return render(
        ctx,
        "desk_case.html",
        status=status,
        case=case,
        error=error,
        notice=notice,
        values=values or {},
        zone=zone(ctx),
        died=_died(ctx, case),
        zone_name=zone_abbreviation(datetime.now(UTC), zone(ctx)),
        contacts=contacts,
        contact_mark=lambda c: views.contact_mark(ctx.t, c),
        phone=views.display_phone,
        followers=ctx.t("four_in_one.card_followers", chats=len(chats), verified=len(verified)),
        match=_match_key(case),
        movable=movable,
        owners=cases.OWNERS,
        statuses=cases.STATUSES,
        note_limit=cases.NOTE_LIMIT,
        events=events,
        names=names,
        exchange=await questions.of_case(ctx.session, case.id),
        answer_limit=questions.QUESTION_LIMIT,
        late=views.late_handover(ctx.t, case, zone(ctx)),
        decisions=await _decisions(ctx, case),
        chat_only=_chat_only(ctx, case),
        at_desk=at_desk(ctx),
        live=live,
        local_now=local_now,
    )


def _died(ctx: WebContext, case: FourInOneCase) -> str:
    """When the death happened, in the house style; a time nobody knew is said so (chat's words)."""
    local = case.died_at.astimezone(ZoneInfo(zone(ctx)))
    if local.time() == cases.UNKNOWN_TIME:
        return views.died_text(ctx.t, case.died_at, zone(ctx))
    return dates.moment(case.died_at, zone(ctx), ctx.t)


def _match_key(case: FourInOneCase) -> str:
    if case.employee_id is None:
        return "four_in_one.match.none"
    if case.match_confirmed_at is not None:
        return "four_in_one.match.confirmed"
    return "four_in_one.match.candidate"


async def _decisions(ctx: WebContext, case: FourInOneCase) -> list[str]:
    """The decisions the chat's card offers this officer on this case, in the chat's order."""
    if not at_desk(ctx):
        return []
    offered = []
    if case.status == cases.DUPLICATE:
        if await cases.duplicate_target(ctx.session, case) is not None:
            offered.append("merge")
        offered.append("reject")
    usable = case.status not in cases.NOT_CASES
    if usable and case.employee_id and not case.match_confirmed_at:
        offered.append("match")
    if case.status == CaseStatus.READY:
        offered.append("handed")
    if closing.reopenable(case):
        offered.append("reopen")
    if case.status in cases.LIVE:
        offered.append("cancel")
    return offered


def _chat_only(ctx: WebContext, case: FourInOneCase) -> list[str]:
    """What the chat's "More" offers that the console leaves to the chat: a NIP typed for an
    unmatched case (then confirmed) and a new tracking code (only shown once, in the chat)."""
    if not at_desk(ctx) or case.status not in cases.LIVE:
        return []
    offered = []
    if case.match_confirmed_at is None:
        offered.append("four_in_one.attach_nip")
    if case.opened_via == "officer":
        offered.append("four_in_one.new_code")
    return offered


def _to_card(case: FourInOneCase, done: str, number: int | None = None) -> web.Response:
    extra = f"&n={number}" if number is not None else ""
    return redirect(f"/hr/desk/{case.id}?done={done}{extra}#top")


CaseForm = Callable[[WebContext, FourInOneCase, MultiDictProxy[Any]], Awaitable[web.StreamResponse]]


def case_form(handler: CaseForm) -> Callable[[WebContext, MultiDictProxy[Any]], Awaitable[Any]]:
    """A form about the case in the URL: not found unless this officer may see it."""

    async def run(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
        case = await _case(ctx)
        if case is None:
            return _missing(ctx)
        return await handler(ctx, case, data)

    run.__name__ = handler.__name__
    return run


def _text(data: MultiDictProxy[Any], name: str) -> str:
    value = data.get(name, "")
    return value.strip() if isinstance(value, str) else ""


# --- A document's status, with a note to the family ---------------------------------------------


@routes.post(f"/desk/{CASE}/documents/{{kind}}", name="desk_document")
@form(roles=DESK_ROLES)
@case_form
async def move_document(
    ctx: WebContext, case: FourInOneCase, data: MultiDictProxy[Any]
) -> web.StreamResponse:
    kind = ctx.request.match_info["kind"]
    status, note = _text(data, "status"), _text(data, "note")
    if kind not in cases.DOCUMENTS:
        return _missing(ctx)
    if not cases.may_update(set(ctx.roles), kind):
        return await _card(ctx, case, status=403, error=ctx.t("four_in_one.error.not_owner"))
    values = {f"note_{kind}": note}
    if status not in cases.STATUSES:
        error = ctx.t("four_in_one.error.bad_status")
        return await _card(ctx, case, status=400, error=error, values=values)
    if len(note) > cases.NOTE_LIMIT:
        error = ctx.t("web.desk.note_too_long", limit=cases.NOTE_LIMIT)
        return await _card(ctx, case, status=400, error=error, values=values)
    try:
        async with ctx.session.begin_nested():
            changed = await cases.set_document(
                ctx.session, case, kind, status, actor=ctx.actor, roles=set(ctx.roles),
                zone=zone(ctx), note=note or None,
            )  # fmt: skip
    except cases.CaseRefused as exc:
        return await _card(ctx, case, status=400, error=ctx.t(exc.reason.value), values=values)
    if not changed:
        return _to_card(case, "unchanged")
    in_chat = any(c.account_id for c in case.contacts)
    return _to_card(case, "saved" if in_chat else "saved_no_chat")


# --- Handover time and place --------------------------------------------------------------------


def _local_moment(raw: str, zone_name: str) -> datetime | None:
    """A `datetime-local` field's value, in the agency's time zone; None if it is not one."""
    for shape in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(raw[:19], shape).replace(tzinfo=ZoneInfo(zone_name))
        except ValueError:
            continue
    return None


@routes.post(f"/desk/{CASE}/handover", name="desk_handover")
@form(roles=CASE_DESK)
@case_form
async def handover(
    ctx: WebContext, case: FourInOneCase, data: MultiDictProxy[Any]
) -> web.StreamResponse:
    raw_at = _text(data, "at")
    place = " ".join(_text(data, "place").split())
    values = {"at": raw_at[:32], "place": place[: cases.NAME_LIMIT]}

    async def refuse(key: str, **params: object) -> web.StreamResponse:
        return await _card(ctx, case, status=400, error=ctx.t(key, **params), values=values)

    if case.status not in cases.LIVE:
        return await refuse("four_in_one.error.closed")
    at = _local_moment(raw_at, zone(ctx)) if raw_at else None
    # As in the chat: a time that cannot be read is said so, a place is at least 3 characters,
    # and a time already past is refused; an empty field keeps what is set.
    if raw_at and at is None:
        return await refuse("web.desk.bad_time")
    if place and len(place) < 3:
        return await refuse("web.desk.place_too_short")
    if len(place) > cases.NAME_LIMIT:
        return await refuse("web.desk.place_too_long", limit=cases.NAME_LIMIT)
    if at is None and not place:
        return await refuse("web.desk.handover_empty")
    if at is not None and at < datetime.now(UTC):
        return await refuse("four_in_one.error.past")
    try:
        async with ctx.session.begin_nested():
            await cases.set_handover(
                ctx.session, case, at=at, place=place or None, actor=ctx.actor, zone=zone(ctx)
            )
    except cases.CaseRefused as exc:
        return await refuse(exc.reason.value)
    return _to_card(case, "handover")


# --- The family's questions ---------------------------------------------------------------------


@routes.post(f"/desk/{CASE}/questions/{{question_id:\\d{{1,9}}}}", name="desk_answer")
@form(roles=CASE_DESK)
@case_form
async def answer(
    ctx: WebContext, case: FourInOneCase, data: MultiDictProxy[Any]
) -> web.StreamResponse:
    """Shown back first (a sent answer cannot be taken back), then sent as the chat sends it."""
    found = await questions.for_staff(
        ctx.session, ctx.agency.id, int(ctx.request.match_info["question_id"])
    )
    if found is None or found.case_id != case.id:
        return _missing(ctx)
    text = _text(data, "answer")
    values = {f"answer_{found.id}": text}
    if not text:
        return await _card(ctx, case, status=400, error=ctx.t("web.desk.answer_empty"))
    if len(text) > questions.QUESTION_LIMIT:
        error = ctx.t("web.desk.answer_too_long", limit=questions.QUESTION_LIMIT)
        return await _card(ctx, case, status=400, error=error, values=values)
    if data.get("confirm") != "yes":
        return _confirm_answer(ctx, case, found, text)
    sent = await questions.answer(ctx.session, found, text, ctx.actor, datetime.now(UTC))
    return _to_card(case, "answered" if sent is not None else "already_answered", found.id)


def _confirm_answer(
    ctx: WebContext, case: FourInOneCase, question: CaseQuestion, text: str
) -> web.StreamResponse:
    return render(
        ctx,
        "desk_confirm.html",
        case=case,
        question=ctx.t("questions.answer_preview", id=question.id, text=text),
        action=f"/hr/desk/{case.id}/questions/{question.id}",
        fields={"answer": text},
        yes=ctx.t("web.desk.send_answer"),
        danger=False,
    )


# --- Decisions: each asked once more, naming the case -------------------------------------------

DECISIONS = ("merge", "reject", "match", "handed", "reopen", "cancel")
# The button that carries a decision out, as the chat words it.
YES = {
    "merge": "web.desk.decision_yes.merge",
    "reject": "web.desk.decision_yes.reject",
    "match": "web.desk.decision_yes.match",
    "handed": "web.desk.decision_yes.handed",
    "reopen": "web.desk.decision_yes.reopen",
    "cancel": "web.desk.decision_yes.cancel",
}


@routes.post(f"/desk/{CASE}/decide", name="desk_decide")
@form(roles=CASE_DESK)
@case_form
async def decide(
    ctx: WebContext, case: FourInOneCase, data: MultiDictProxy[Any]
) -> web.StreamResponse:
    action = _text(data, "action")
    reason = " ".join(_text(data, "reason").split())
    if action not in DECISIONS:
        return await _card(ctx, case, status=400, error=ctx.t("web.desk.not_available"))
    if action not in await _decisions(ctx, case):
        # Offered on a page shown before: someone else decided meanwhile.
        return await _card(ctx, case, status=400, error=ctx.t("web.desk.not_available"))
    if action == "cancel" and len(reason) < 3:
        error = ctx.t("web.desk.reason_needed")
        return await _card(ctx, case, status=400, error=error, values={"reason": reason})
    reason = reason[: cases.NOTE_LIMIT]
    survivor = await cases.duplicate_target(ctx.session, case) if action == "merge" else None
    if data.get("confirm") != "yes":
        return await _confirm_decision(ctx, case, action, reason, survivor)
    try:
        async with ctx.session.begin_nested():
            survivor_id = _number(data.get("survivor"), 0, 10**9)
            return await _carry_out(ctx, case, action, reason, survivor_id)
    except cases.CaseRefused as exc:
        return await _card(ctx, case, status=400, error=ctx.t(exc.reason.value))


async def _confirm_decision(
    ctx: WebContext,
    case: FourInOneCase,
    action: str,
    reason: str,
    survivor: FourInOneCase | None,
) -> web.StreamResponse:
    """The chat's own question for the decision, and a button that carries it out."""
    t = ctx.t
    fields = {"action": action}
    if action == "merge" and survivor is not None:
        question = t("four_in_one.ask_merge_duplicate", number=case.id, survivor=survivor.id)
        fields["survivor"] = str(survivor.id)  # merged only into the case shown here
    elif action == "reject":
        question = t("four_in_one.ask_reject_duplicate", number=case.id)
    elif action == "match":
        employee = await ctx.session.get(Employee, case.employee_id)
        name, nip = (employee.name, employee.nip) if employee else (case.deceased_name, "-")
        question = t("four_in_one.ask_match", name=name, nip=nip, number=case.id)
    elif action == "handed":
        question = t("four_in_one.ask_handed", number=case.id, name=case.deceased_name)
        at = closing.aware(case.handover_at)
        if at is not None and at > datetime.now(UTC):
            early = t("four_in_one.handed_early", when=cases.when_text(t, at, zone(ctx)))
            question = f"{early}\n\n{question}"
    elif action == "reopen":
        question = t("four_in_one.ask_reopen", number=case.id, name=case.deceased_name)
    else:
        question = t(
            "four_in_one.confirm_cancel", number=case.id, name=case.deceased_name, reason=reason
        )
        fields["reason"] = reason
    return render(
        ctx,
        "desk_confirm.html",
        case=case,
        question=question,
        action=f"/hr/desk/{case.id}/decide",
        fields=fields,
        yes=t(YES[action]),
        danger=action in ("reject", "cancel", "match"),
    )


async def _carry_out(
    ctx: WebContext, case: FourInOneCase, action: str, reason: str, survivor_id: int | None
) -> web.StreamResponse:
    session, actor = ctx.session, ctx.actor
    if action == "merge":
        survivor = await cases.merge_duplicate(session, case, survivor_id or 0, actor)
        return _to_card(survivor, "merged", case.id)
    if action == "reject":
        await cases.reject_duplicate(session, case, actor)
        return _to_card(case, "rejected", case.id)
    if action == "match":
        survivor = await cases.confirm_match(session, case, actor)
        return _to_card(survivor, "matched")
    if action == "handed":
        await closing.close_at_desk(session, case, actor)
        return _to_card(case, "handed")
    if action == "reopen":
        await closing.reopen(session, case, actor)
        return _to_card(case, "reopened", case.id)
    await cases.cancel_case(session, case, actor=actor, reason=reason)
    return _to_card(case, "cancelled")


# --- The SLA report -----------------------------------------------------------------------------


@routes.get("/desk/report", name="desk_report")
@page(roles=HR_ROLES)
async def report(ctx: WebContext) -> web.StreamResponse:
    """The chat's HR report (and `abdi case report`): the same service, the same numbers."""
    month = ctx.request.query.get("month", "")
    error = None
    if month and not MONTH.fullmatch(month):
        error, month = "web.desk.bad_month", ""
    ctx.audit("case.report", month=month or None)
    months = await cases.report(ctx.session, ctx.agency.id, datetime.now(UTC), month or None)
    return render(
        ctx,
        "desk_report.html",
        status=400 if error else 200,
        error=error,
        month=month,
        months=months,
        documents=cases.DOCUMENTS,
        chart=chart(months[-12:], ctx.t),
    )
