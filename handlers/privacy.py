"""Personal data (UU PDP): the privacy notice and "Data saya", a copy of what Abdi holds."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from bot import dates
from bot.messages import Attachment, Choice, Reply
from bot.routing import ASN, FAMILY, GUEST, HR, ID, OFFICER, WORD, Context, Draft, Router, Step
from bot.services import audit, data_requests, personal_data
from bot.services.privacy_notice import NOTICES
from bot.views.personal_data import render_json, render_text
from storage.models import DataRequest
from storage.statuses import DataRequestStatus


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    MINE = "mine"
    NOTICE = "notice"
    EXPORT = "export"
    ASK = "ask"
    SEND = "send"
    QUEUE = "queue"
    SHOW = "show"
    DONE = "done"
    REFUSE = "refuse"


EVERYONE = {GUEST, ASN, FAMILY, HR, OFFICER}

router = Router("privacy")
# After help and language: the numbers of the entries before it stay put.
router.menu_entry(Verb.MINE, "privacy.menu", roles=EVERYONE, order=920)
router.menu_entry(Verb.QUEUE, "privacy.menu_queue", roles={HR}, order=560, section="hr")


class Ask(StrEnum):
    """A request to correct or delete: what to change is typed, then confirmed before filing."""

    WHAT = "await_what"
    CONFIRM = "confirm"


class AskDraft(Draft):
    kind: str
    text: str = ""


@router.command("privasi", "privacy")
@router.action(Verb.NOTICE)
async def notice(ctx: Context, args: list[str]) -> list[Reply]:
    text = NOTICES.notice(ctx.t.locale).full_for(ctx.agency.name)
    return [
        Reply(text, [Choice(router.payload(Verb.MINE), ctx.t("privacy.menu")), ctx.back_to_menu()])
    ]


@router.command("datasaya", "mydata")
@router.action(Verb.MINE)
async def mine(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    choices = [
        Choice(router.payload(Verb.EXPORT), ctx.t("privacy.export")),
        Choice(router.payload(Verb.ASK, "correction"), ctx.t("privacy.ask_correction")),
        Choice(router.payload(Verb.ASK, "deletion"), ctx.t("privacy.ask_deletion")),
        Choice(router.payload(Verb.NOTICE), ctx.t("privacy.notice")),
        ctx.back_to_menu(),
    ]
    return [Reply(ctx.t("privacy.mine"), choices)]


@router.action(Verb.EXPORT)
async def export(ctx: Context, args: list[str]) -> list[Reply]:
    data = await personal_data.gather(ctx.session, ctx.account, ctx.actor)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="personal_data.export",
        agency_id=ctx.agency.id,
        target=f"account:{ctx.account.id}",
    )
    as_json = render_json(data)
    as_text = render_text(data, ctx.t, ctx.agency.timezone).encode()
    return [
        Reply(
            ctx.t("privacy.exported"),
            attachment=Attachment("data-saya.json", as_json, "application/json"),
        ),
        Reply(
            ctx.t("privacy.exported_text"),
            [ctx.back_to_menu()],
            attachment=Attachment("data-saya.txt", as_text, "text/plain"),
        ),
    ]


@router.action(Verb.ASK, args=(WORD,))
async def ask(ctx: Context, args: list[str]) -> list[Reply]:
    kind = args[0]
    if kind not in data_requests.KINDS:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    await router.enter(ctx, Ask.WHAT, AskDraft(kind=kind))
    return [Reply(ctx.t(f"privacy.ask_{kind}_what"), [ctx.back_to_menu()], expects_text=True)]


async def what_typed(ctx: Context, text: str) -> list[Reply]:
    draft = AskDraft.of(ctx)
    draft.text = text[: data_requests.MAX_TEXT]
    await router.enter(ctx, Ask.CONFIRM, draft)
    kind = ctx.t(f"privacy.kind_{draft.kind}")
    choices = [Choice(router.payload(Verb.SEND), ctx.t("privacy.send")), ctx.back_to_menu()]
    return [Reply(ctx.t("privacy.confirm", kind=kind, text=draft.text), choices)]


@router.action(Verb.SEND, state=Ask.CONFIRM)
async def send(ctx: Context, args: list[str]) -> list[Reply]:
    draft = AskDraft.of(ctx)
    await ctx.clear_state()
    request = await data_requests.file(
        ctx.session,
        ctx.account,
        draft.kind,
        draft.text,
        hours=ctx.settings.data_request_hours,
        now=datetime.now(UTC),
    )
    due = dates.moment(request.due_at, ctx.agency.timezone, ctx.t)
    return [ctx.main_menu(ctx.t("privacy.filed", id=request.id, due=due))]


router.flow(
    Ask,
    AskDraft,
    {Ask.WHAT: Step(what_typed, fills=("text",)), Ask.CONFIRM: Step(None)},
)


# -- HR: the queue of requests ------------------------------------------------------------------


def _line(ctx: Context, request: DataRequest, now: datetime) -> str:
    due = dates.moment(request.due_at, ctx.agency.timezone, ctx.t)
    key = "privacy.queue_line_overdue" if request.due_at <= now else "privacy.queue_line"
    kind = ctx.t(f"privacy.kind_{request.kind}")
    return ctx.t(key, id=request.id, kind=kind, due=due)


@router.action(Verb.QUEUE, roles={HR})
async def queue(ctx: Context, args: list[str]) -> list[Reply]:
    now = datetime.now(UTC)
    requests = await data_requests.open_requests(ctx.session, ctx.agency.id)
    if not requests:
        return [ctx.main_menu(ctx.t("privacy.queue_empty"))]
    shown = requests[:8]  # the nearest deadlines; the CLI lists them all
    choices = [Choice(router.payload(Verb.SHOW, r.id), _line(ctx, r, now)) for r in shown]
    lead = ctx.t("privacy.queue_title", count=len(requests))
    return [Reply(lead, [*choices, ctx.back_to_menu()])]


@router.action(Verb.SHOW, roles={HR}, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    request = await data_requests.find(ctx.session, ctx.agency.id, int(args[0]))
    if request is None or request.status != DataRequestStatus.OPEN:
        return [ctx.main_menu(ctx.t("privacy.request_gone"))]
    who = await data_requests.requester(ctx.session, request)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="data_request.read",
        agency_id=ctx.agency.id,
        target=f"data_request:{request.id}",
    )
    text = "\n".join(
        [
            _line(ctx, request, datetime.now(UTC)),
            ctx.t("privacy.request_from", who=who),
            ctx.t("privacy.request_text", text=request.text),
        ]
    )
    choices = [
        Choice(router.payload(Verb.DONE, request.id), ctx.t("privacy.button_done")),
        # The one refusal the law allows from a chat is the roster record's; others go by CLI.
        *(
            [Choice(router.payload(Verb.REFUSE, request.id), ctx.t("privacy.button_refuse_roster"))]
            if request.employee_id is not None
            else []
        ),
        Choice(router.payload(Verb.QUEUE), ctx.t("privacy.back_to_queue")),
        ctx.back_to_menu(),
    ]
    return [Reply(text, choices)]


async def _answer(ctx: Context, request_id: int, done: bool) -> list[Reply]:
    request = await data_requests.find(ctx.session, ctx.agency.id, request_id)
    note = "" if done else ctx.t("privacy.refuse_roster_reason")
    answered = None
    if request is not None and (done or request.employee_id is not None):
        answered = await data_requests.answer(
            ctx.session, request, actor=ctx.actor, done=done, note=note, now=datetime.now(UTC)
        )
    if answered is None:
        return [ctx.main_menu(ctx.t("privacy.request_gone"))]
    key = "privacy.answered_done" if done else "privacy.answered_refused"
    back = [Choice(router.payload(Verb.QUEUE), ctx.t("privacy.back_to_queue")), ctx.back_to_menu()]
    return [Reply(ctx.t(key, id=request_id, erased=answered.erased), back)]


@router.action(Verb.DONE, roles={HR}, args=(ID,))
async def done(ctx: Context, args: list[str]) -> list[Reply]:
    return await _answer(ctx, int(args[0]), done=True)


@router.action(Verb.REFUSE, roles={HR}, args=(ID,))
async def refuse(ctx: Context, args: list[str]) -> list[Reply]:
    return await _answer(ctx, int(args[0]), done=False)
