"""HR broadcasts in chat: write, pick an audience, see the count and a preview, send now or at a
time, confirm; follow a broadcast's report, get the CSV of those not reached, cancel; reminders.

The dispatcher checks the HR role at every step and button; each re-reads what a payload names
from the database.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from bot import dates
from bot.messages import Attachment, Choice, Reply
from bot.routing import HR, ID, NUM, WORD, Context, Draft, Expect, Router, Step
from bot.services import audit, guidance, when
from bot.services.broadcasting import acks, audiences, broadcasts, reminders
from bot.services.broadcasting.audiences import Audience, AudienceError
from bot.services.broadcasting.report import report
from bot.views.when import ask_half, half_choices
from storage.models import Reminder, Unit, utcnow


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    START = "start"
    NEW = "new"
    LIST = "list"
    REMINDERS = "reminders"
    AUDIENCE = "aud"
    UNITS = "units"
    TOPICS = "topics"
    UNIT = "unit"
    UNITS_OK = "unitsok"
    TOPIC = "topic"
    NOW = "now"
    LATER = "later"
    AGAIN = "again"
    CONFIRM = "confirm"
    SHOW = "show"
    CSV = "csv"
    CANCEL = "cancel"
    CANCEL_OK = "cancelok"
    REMINDER_DELETE = "remdel"
    REMINDER_ADD = "remadd"
    REMINDER_DELETE_OK = "remdelok"
    HALF = "half"
    ACK = "ack"
    ACKS = "acks"


router = Router("broadcast")
router.menu_entry(Verb.START, "menu.broadcast", roles={HR}, order=450, section="hr")
UNITS_PER_PAGE = 7


ACK_STATE = {  # what the preview says of each (asked, reminded) state
    (False, False): "ack.not_asked",
    (True, False): "ack.asked",
    (True, True): "ack.asked_remind",
}
# The label of the acknowledgement button for each (asked, reminded) state: what a tap switches to.
ACK_NEXT = {
    (False, False): "ack.toggle_on",
    (True, False): "ack.toggle_remind",
    (True, True): "ack.toggle_off",
}


class Compose(StrEnum):
    """HR writes a broadcast: the text (a file may come along), the audience, then when."""

    TEXT = "await_text"
    DRAFT = "draft"  # the audience and "now or later" are picked with buttons
    TIME = "await_time"


class BroadcastDraft(Draft):
    text: str | None = None
    attachment: list[str] | None = None  # [file name, MIME type, base64 content]
    units: list[int] = Field(default_factory=list)  # units picked so far, for a broadcast to units
    audience: dict[str, Any] | None = None  # Audience.to_json()
    reachable: int | None = None  # how many of the audience can be reached, at the preview
    send_at: str | None = None  # ISO moment, for a scheduled broadcast
    # The two readings of an hour that may be morning or evening, while it is asked back.
    halves: list[str] = Field(default_factory=list)
    ack: bool = False  # recipients are asked to confirm they read it
    ack_remind: bool = False  # ... and those who have not are reminded once


@router.action(Verb.START, roles={HR})
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    choices = [
        Choice(router.payload(Verb.NEW), ctx.t("broadcast.button_new")),
        Choice(router.payload(Verb.LIST), ctx.t("broadcast.button_list")),
        Choice(router.payload(Verb.REMINDERS), ctx.t("broadcast.button_reminders")),
        ctx.back_to_menu(),
    ]
    return [Reply(ctx.t("broadcast.intro"), choices)]


@router.action(Verb.NEW, roles={HR})
async def new(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Compose.TEXT)
    prompt = ctx.t("broadcast.ask_text", limit=broadcasts.MAX_TEXT)
    return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]


async def got_text(ctx: Context, text: str) -> list[Reply]:
    text = (text or "").strip()
    draft = BroadcastDraft.of(ctx)
    sent = ctx.inbound.attachment
    if sent is not None:
        mime = broadcasts.attachment_type(sent.content)
        if mime is None or len(sent.content) > broadcasts.MAX_ATTACHMENT:
            prompt = ctx.t("broadcast.bad_attachment", mb=broadcasts.MAX_ATTACHMENT // 2**20)
            return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]
        # Kept with the draft until HR confirms; only HR drafts carry a file this way.
        draft.attachment = [sent.filename, mime, base64.b64encode(sent.content).decode()]
    if not text:
        await router.enter(ctx, Compose.TEXT, draft)
        key = "broadcast.attachment_needs_text" if sent else "broadcast.ask_text"
        prompt = ctx.t(key, limit=broadcasts.MAX_TEXT)
        return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]
    # A draft cut by the dispatcher's length limit must not go out half-written.
    cut = len(ctx.inbound.text or "") > ctx.settings.max_text_length
    if cut or broadcasts.text_length(text) > broadcasts.MAX_TEXT:
        return [Reply(ctx.t("broadcast.too_long", limit=broadcasts.MAX_TEXT), [ctx.back_to_menu()])]
    draft.text = text
    await router.enter(ctx, Compose.DRAFT, draft)
    return [_audience_picker(ctx)]


def _attachment(draft: BroadcastDraft) -> tuple[str, str, bytes] | None:
    if not draft.attachment:
        return None
    name, mime, encoded = draft.attachment
    return name, mime, base64.b64decode(encoded)


def _audience_picker(ctx: Context) -> Reply:
    choices = [
        Choice(router.payload(Verb.AUDIENCE, "everyone"), ctx.t("broadcast.aud_everyone")),
        Choice(router.payload(Verb.UNITS, 0), ctx.t("broadcast.aud_units")),
        Choice(router.payload(Verb.AUDIENCE, "hr"), ctx.t("broadcast.aud_hr")),
        Choice(router.payload(Verb.AUDIENCE, "officer"), ctx.t("broadcast.aud_officer")),
        Choice(router.payload(Verb.AUDIENCE, "notrated"), ctx.t("broadcast.aud_notrated")),
        Choice(router.payload(Verb.TOPICS), ctx.t("broadcast.aud_notacked")),
        ctx.back_to_menu(),
    ]
    return Reply(ctx.t("broadcast.ask_audience"), choices)


@router.action(Verb.AUDIENCE, roles={HR}, state=Compose.DRAFT, args=(WORD,))
async def pick_simple(ctx: Context, args: list[str]) -> list[Reply]:
    audience = audiences.PRESETS.get(args[0])
    if audience is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _preview(ctx, audience)


async def _units(ctx: Context) -> list[Unit]:
    return await audiences.units_of(ctx.session, ctx.agency.id)


@router.action(Verb.UNITS, roles={HR}, state=Compose.DRAFT, args=(NUM,))
async def pick_units(ctx: Context, args: list[str]) -> list[Reply]:
    units = await _units(ctx)
    page = int(args[0]) if args[0].isdigit() else 0
    page = min(page, max(0, (len(units) - 1) // UNITS_PER_PAGE))
    chosen = set(BroadcastDraft.of(ctx).units)
    shown = units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    choices = [
        Choice(
            router.payload(Verb.UNIT, u.id, page),
            ("✓ " if u.id in chosen else "") + u.name,
        )
        for u in shown
    ]
    if (page + 1) * UNITS_PER_PAGE < len(units):
        choices.append(Choice(router.payload(Verb.UNITS, page + 1), ctx.t("broadcast.more_units")))
    if chosen:
        choices.append(Choice(router.payload(Verb.UNITS_OK), ctx.t("broadcast.units_done")))
    choices.append(ctx.back_to_menu())
    return [Reply(ctx.t("broadcast.ask_units", count=len(chosen)), choices)]


@router.action(Verb.UNIT, roles={HR}, state=Compose.DRAFT, args=(ID, NUM))
async def toggle_unit(ctx: Context, args: list[str]) -> list[Reply]:
    valid = {u.id for u in await _units(ctx)}
    if not args[0].isdigit() or int(args[0]) not in valid:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    draft = BroadcastDraft.of(ctx)
    draft.units = sorted(set(draft.units) ^ {int(args[0])})
    await router.enter(ctx, Compose.DRAFT, draft)
    return await pick_units(ctx, [args[1]])


@router.action(Verb.UNITS_OK, roles={HR}, state=Compose.DRAFT)
async def units_done(ctx: Context, args: list[str]) -> list[Reply]:
    valid = {u.id for u in await _units(ctx)}
    chosen = tuple(u for u in BroadcastDraft.of(ctx).units if u in valid)
    if not chosen:
        return await pick_units(ctx, ["0"])
    return await _preview(ctx, Audience(audiences.UNITS, chosen))


@router.action(Verb.TOPICS, roles={HR}, state=Compose.DRAFT)
async def pick_topic(ctx: Context, args: list[str]) -> list[Reply]:
    topics = guidance.library().content().ordered(ctx.t.locale)[:9]
    choices = [Choice(router.payload(Verb.TOPIC, topic.id), topic.label) for topic in topics]
    return [Reply(ctx.t("broadcast.ask_topic"), [*choices, ctx.back_to_menu()])]


@router.action(Verb.TOPIC, roles={HR}, state=Compose.DRAFT, args=(WORD,))
async def picked_topic(ctx: Context, args: list[str]) -> list[Reply]:
    try:
        return await _preview(ctx, Audience(audiences.NOT_ACKED, topic=args[0]))
    except AudienceError:
        return [ctx.main_menu(ctx.t("error.stale_button"))]


async def _preview(ctx: Context, audience: Audience) -> list[Reply]:
    draft = BroadcastDraft.of(ctx)
    if draft.text is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.expired"))]
    size = await audiences.size(ctx.session, ctx.agency, audience, utcnow())
    described = await broadcasts.describe(ctx.session, ctx.agency.id, audience, ctx.t)
    draft.audience, draft.reachable = audience.to_json(), size.reachable
    await router.enter(ctx, Compose.DRAFT, draft)
    text = ctx.t(
        "broadcast.preview",
        audience=described,
        employees=size.employees,
        reachable=size.reachable,
        message=ctx.t("broadcast.message", text=draft.text),
    )
    if draft.attachment:
        text += "\n" + ctx.t("broadcast.attached", name=draft.attachment[0])
    if not size.reachable:
        text += "\n\n" + ctx.t("broadcast.nobody_reachable", employees=size.employees)
    asked = (
        "ack.asked_remind" if draft.ack_remind else "ack.asked" if draft.ack else "ack.not_asked"
    )
    text += "\n" + ctx.t(asked, hours=acks.REMIND_HOURS)
    choices = [
        Choice(router.payload(Verb.NOW), ctx.t("broadcast.send_now")),
        Choice(router.payload(Verb.LATER), ctx.t("broadcast.send_later")),
        Choice(router.payload(Verb.ACK), ctx.t(ACK_NEXT[(draft.ack, draft.ack_remind)])),
        Choice(router.payload(Verb.AGAIN), ctx.t("broadcast.change_audience")),
        ctx.back_to_menu(),
    ]
    return [Reply(text, choices)]


@router.action(Verb.ACK, roles={HR}, state=Compose.DRAFT)
async def toggle_ack(ctx: Context, args: list[str]) -> list[Reply]:
    """One button steps through: no confirmation, ask to confirm, ask and remind once; the
    preview says which is chosen."""
    draft = BroadcastDraft.of(ctx)
    if draft.audience is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    draft.ack, draft.ack_remind = (
        (True, False) if not draft.ack else (True, True) if not draft.ack_remind else (False, False)
    )
    await router.enter(ctx, Compose.DRAFT, draft)
    return await _preview(ctx, Audience.from_json(draft.audience))


@router.action(Verb.AGAIN, roles={HR}, state=Compose.DRAFT)
async def change_audience(ctx: Context, args: list[str]) -> list[Reply]:
    return [_audience_picker(ctx)]


@router.action(Verb.NOW, roles={HR}, state=Compose.DRAFT)
async def send_now(ctx: Context, args: list[str]) -> list[Reply]:
    draft = BroadcastDraft.of(ctx)
    draft.send_at = None
    await router.enter(ctx, Compose.DRAFT, draft)
    count = draft.reachable or 0
    return [_confirm(ctx, draft, ctx.t.plural("broadcast.confirm_now", count))]


def _confirm(
    ctx: Context, draft: BroadcastDraft, question: str, yes: str = "broadcast.yes_send"
) -> Reply:
    if draft.reachable == 0:
        question = ctx.t("broadcast.nobody_reachable_short") + "\n" + question
    return Reply(
        question,
        [Choice(router.payload(Verb.CONFIRM), ctx.t(yes)), ctx.back_to_menu()],
    )


@router.action(Verb.LATER, roles={HR}, state=Compose.DRAFT)
async def ask_time(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Compose.TIME, BroadcastDraft.of(ctx))
    example = when.example(ZoneInfo(ctx.agency.timezone), utcnow())
    prompt = ctx.t("broadcast.ask_time", example=example)
    return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]


async def got_time(ctx: Context, text: str) -> list[Reply]:
    draft = BroadcastDraft.of(ctx)
    if draft.audience is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    zone = ZoneInfo(ctx.agency.timezone)
    now = utcnow()
    asked = when.pending(draft.halves)
    picked = when.choose(asked, text, zone) if asked is not None else None
    return await _take_time(ctx, draft, picked or when.read(text, zone, now))


@router.action(Verb.HALF, roles={HR}, state=Compose.TIME, args=(NUM,))
async def pick_half(ctx: Context, args: list[str]) -> list[Reply]:
    """A button of the ask-back: 1 the morning reading, 2 the evening one."""
    draft = BroadcastDraft.of(ctx)
    asked = when.pending(draft.halves)
    picked = asked.reading(args[0]) if asked is not None else None
    if draft.audience is None or picked is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _take_time(ctx, draft, picked)


async def _take_time(
    ctx: Context, draft: BroadcastDraft, moment: datetime | when.Ambiguous[datetime] | None
) -> list[Reply]:
    zone = ZoneInfo(ctx.agency.timezone)
    now = utcnow()
    if moment is None and (asked := when.pending(draft.halves)) is not None:
        moment = asked  # neither a reading nor a new time: the question stands
    if isinstance(moment, when.Ambiguous):
        draft.halves = when.held(moment)
        await router.enter(ctx, Compose.TIME, draft)
        choices = half_choices(ctx.t, moment, zone, lambda n: router.payload(Verb.HALF, n))
        text = ask_half(ctx.t, moment, zone)
        return [Reply(text, [*choices, ctx.back_to_menu()], expects_text=True)]
    draft.halves = []
    if moment is None:
        await router.enter(ctx, Compose.TIME, draft)
        example = when.example(zone, now)
        retry = ctx.t("broadcast.bad_time", example=example)
        return [Reply(retry, [ctx.back_to_menu()], expects_text=True)]
    local = dates.moment(moment, zone, ctx.t)
    if moment < now:
        await router.enter(ctx, Compose.TIME, draft)
        return [Reply(ctx.t("broadcast.past_time", at=local), [ctx.back_to_menu()])]
    draft.send_at = moment.isoformat()
    await router.enter(ctx, Compose.DRAFT, draft)
    count = draft.reachable or 0
    question = ctx.t.plural("broadcast.confirm_later", count, at=local)
    return [_confirm(ctx, draft, question, "broadcast.yes_schedule")]


@router.action(Verb.CONFIRM, roles={HR}, state=Compose.DRAFT)
async def confirm(ctx: Context, args: list[str]) -> list[Reply]:
    draft = BroadcastDraft.of(ctx)
    if draft.text is None or draft.audience is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.expired"))]
    try:
        audience = Audience.from_json(draft.audience)
    except AudienceError:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    send_at = datetime.fromisoformat(draft.send_at) if draft.send_at else None
    broadcast = await broadcasts.create(
        ctx.session,
        ctx.agency,
        audience,
        actor=ctx.actor,
        text=draft.text,
        send_at=send_at,
        attachment=_attachment(draft),
        report_account_id=ctx.account.id,
        ack=draft.ack,
        ack_remind_hours=acks.REMIND_HOURS if draft.ack_remind else None,
    )
    await ctx.clear_state()
    if send_at is None:
        count = await broadcasts.release(ctx.session, broadcast, utcnow())
        lead = ctx.t.plural("broadcast.queued", count, id=broadcast.id)
        if not count:
            lead = ctx.t("broadcast.queued_nobody", id=broadcast.id, targets=broadcast.recipients)
    else:
        local = dates.moment(send_at, ctx.agency.timezone, ctx.t)
        lead = ctx.t("broadcast.scheduled", id=broadcast.id, at=local)
    return [ctx.main_menu(lead)]


# --- reports -------------------------------------------------------------------------------


@router.action(Verb.LIST, roles={HR})
async def list_broadcasts(ctx: Context, args: list[str]) -> list[Reply]:
    rows = await broadcasts.recent(ctx.session, ctx.agency.id)
    if not rows:
        return [Reply(ctx.t("broadcast.none"), [ctx.back_to_menu()])]
    choices = [
        Choice(
            router.payload(Verb.SHOW, b.id),
            f"#{b.id} {broadcasts.title(b, ctx.t)}",
        )
        for b in rows
    ]
    return [Reply(ctx.t("broadcast.pick"), [*choices, ctx.back_to_menu()])]


@router.action(Verb.SHOW, roles={HR}, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text, unreached = await report(ctx.session, broadcast, ctx.t, utcnow())
    choices = []
    if unreached:
        choices.append(
            Choice(router.payload(Verb.CSV, broadcast.id), ctx.t("broadcast.button_csv"))
        )
    if broadcast.ack_requested and broadcast.released_at is not None:
        choices.append(Choice(router.payload(Verb.ACKS, broadcast.id), ctx.t("ack.button_export")))
    if broadcast.status in (broadcasts.SCHEDULED, broadcasts.SENDING):
        choices.append(
            Choice(router.payload(Verb.CANCEL, broadcast.id), ctx.t("broadcast.button_cancel"))
        )
    choices.append(Choice(router.payload(Verb.LIST), ctx.t("button.back"), nav="back"))
    return [Reply(text, [*choices, ctx.back_to_menu()])]


@router.action(Verb.CSV, roles={HR}, args=(ID,))
async def csv_file(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    data = await broadcasts.undelivered_csv(ctx.session, broadcast, ctx.t)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="broadcast.export",
        agency_id=ctx.agency.id,
        target=f"broadcast:{broadcast.id}",
    )
    attachment = Attachment(f"belum-terkirim-{broadcast.id}.csv", data, "text/csv")
    return [Reply(ctx.t("broadcast.csv_ready"), [ctx.back_to_menu()], attachment=attachment)]


@router.action(Verb.ACKS, roles={HR}, args=(ID,))
async def acks_file(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None or not broadcast.ack_requested:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    data = await acks.export_csv(ctx.session, broadcast, ctx.t)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="broadcast.acks_export",
        agency_id=ctx.agency.id,
        target=f"broadcast:{broadcast.id}",
    )
    attachment = Attachment(f"konfirmasi-baca-{broadcast.id}.csv", data, "text/csv")
    return [Reply(ctx.t("ack.export_ready"), [ctx.back_to_menu()], attachment=attachment)]


@router.action(Verb.CANCEL, roles={HR}, args=(ID,))
async def ask_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    yes = Choice(router.payload(Verb.CANCEL_OK, broadcast.id), ctx.t("broadcast.yes_cancel"))
    back = Choice(router.payload(Verb.SHOW, broadcast.id), ctx.t("button.back"), nav="back")
    return [Reply(ctx.t("broadcast.confirm_cancel", id=broadcast.id), [yes, back])]


@router.action(Verb.CANCEL_OK, roles={HR}, args=(ID,))
async def do_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None or broadcast.status not in (broadcasts.SCHEDULED, broadcasts.SENDING):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    withdrawn = await broadcasts.cancel(ctx.session, broadcast, ctx.actor)
    return [ctx.main_menu(ctx.t("broadcast.cancelled", id=broadcast.id, count=withdrawn))]


# --- reminders -----------------------------------------------------------------------------


@router.action(Verb.REMINDERS, roles={HR})
async def list_reminders(ctx: Context, args: list[str]) -> list[Reply]:
    rows = await reminders.listed(ctx.session, ctx.agency.id)
    lines = [ctx.t("broadcast.reminders_intro" if rows else "broadcast.reminders_none")]
    choices = []
    for r in rows[:7]:
        lines.append(await reminders.describe(ctx.session, r, ctx.t))
        choices.append(
            Choice(
                router.payload(Verb.REMINDER_DELETE, r.id),
                ctx.t("broadcast.remove_reminder", id=r.id),
            )
        )
    choices.append(Choice(router.payload(Verb.REMINDER_ADD), ctx.t("broadcast.add_reminder")))
    return [Reply("\n".join(lines), [*choices, ctx.back_to_menu()])]


@router.action(Verb.REMINDER_ADD, roles={HR})
async def add_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    back = [
        Choice(router.payload(Verb.REMINDERS), ctx.t("button.back"), nav="back"),
        ctx.back_to_menu(),
    ]
    try:
        reminder = await reminders.add(
            ctx.session, ctx.agency, trigger=reminders.BEFORE_CLOSE, actor=ctx.actor
        )
    except reminders.ReminderError as exc:
        return [Reply(ctx.t(str(exc), **exc.params), back)]
    return [Reply(ctx.t("broadcast.reminder_added", id=reminder.id), back)]


async def _reminder(ctx: Context, raw: str) -> Reminder | None:
    rows = await reminders.listed(ctx.session, ctx.agency.id)
    return next((r for r in rows if str(r.id) == raw), None)


@router.action(Verb.REMINDER_DELETE, roles={HR}, args=(ID,))
async def ask_remove_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    reminder = await _reminder(ctx, args[0])
    if reminder is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    yes = Choice(
        router.payload(Verb.REMINDER_DELETE_OK, reminder.id), ctx.t("broadcast.yes_remove_reminder")
    )
    back = Choice(router.payload(Verb.REMINDERS), ctx.t("button.back"), nav="back")
    return [Reply(ctx.t("broadcast.confirm_remove_reminder", id=reminder.id), [yes, back])]


@router.action(Verb.REMINDER_DELETE_OK, roles={HR}, args=(ID,))
async def remove_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    reminder = await _reminder(ctx, args[0])
    if reminder is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    await reminders.remove(ctx.session, reminder, ctx.actor)
    return [ctx.main_menu(ctx.t("broadcast.reminder_removed", id=reminder.id))]


router.flow(
    Compose,
    BroadcastDraft,
    {
        Compose.TEXT: Step(got_text, roles={HR}, expects=(Expect.TEXT, Expect.FILE)),
        Compose.DRAFT: Step(None, roles={HR}),
        Compose.TIME: Step(got_time, roles={HR}, expects=(Expect.BARE_NUMBER,)),
    },
)
