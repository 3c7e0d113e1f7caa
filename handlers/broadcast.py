"""HR broadcasts in chat: write, pick an audience, see the count and a preview, send now or at a
time, confirm; follow a broadcast's report, get the CSV of those not reached, cancel; reminders.

Every step re-checks the HR role and re-reads what a payload names from the database.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot import dates
from bot.broadcast_jobs import report
from bot.messages import Attachment, Choice, Reply
from bot.routing import HR, ID, NUM, WORD, Context, Router
from bot.services import audiences, audit, broadcasts, reminders, when
from bot.services.audiences import Audience, AudienceError
from bot.views.when import ask_half
from storage.models import Unit, utcnow

router = Router("broadcast")
router.menu_entry("start", "menu.broadcast", roles={HR}, order=450, section="hr")
UNITS_PER_PAGE = 7
SIMPLE = {
    "everyone": Audience(audiences.EVERYONE),
    "hr": Audience(audiences.ROLE, role="hr"),
    "officer": Audience(audiences.ROLE, role="officer"),
    "notrated": Audience(audiences.NOT_RATED),
}


def _data(ctx: Context) -> dict[str, Any]:
    return dict(ctx.state.data) if ctx.state else {}


@router.action("start", roles={HR})
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    await ctx.clear_state()
    choices = [
        Choice(router.payload("new"), ctx.t("broadcast.button_new")),
        Choice(router.payload("list"), ctx.t("broadcast.button_list")),
        Choice(router.payload("reminders"), ctx.t("broadcast.button_reminders")),
        ctx.back_to_menu(),
    ]
    return [Reply(ctx.t("broadcast.intro"), choices)]


@router.action("new", roles={HR})
async def new(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, "await_text")
    prompt = ctx.t("broadcast.ask_text", limit=broadcasts.MAX_TEXT)
    return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]


@router.on_state("await_text", files=True)
async def got_text(ctx: Context, text: str) -> list[Reply]:
    if HR not in ctx.roles:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    text = (text or "").strip()
    draft = _data(ctx)
    sent = ctx.inbound.attachment
    if sent is not None:
        mime = broadcasts.attachment_type(sent.content)
        if mime is None or len(sent.content) > broadcasts.MAX_ATTACHMENT:
            prompt = ctx.t("broadcast.bad_attachment", mb=broadcasts.MAX_ATTACHMENT // 2**20)
            return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]
        # Kept with the draft until HR confirms; only HR drafts carry a file this way.
        draft["attachment"] = [sent.filename, mime, base64.b64encode(sent.content).decode()]
    if not text:
        await router.enter(ctx, "await_text", **draft)
        key = "broadcast.attachment_needs_text" if sent else "broadcast.ask_text"
        prompt = ctx.t(key, limit=broadcasts.MAX_TEXT)
        return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]
    # A draft cut by the dispatcher's length limit must not go out half-written.
    cut = len(ctx.inbound.text or "") > ctx.settings.max_text_length
    if cut or broadcasts.text_length(text) > broadcasts.MAX_TEXT:
        return [Reply(ctx.t("broadcast.too_long", limit=broadcasts.MAX_TEXT), [ctx.back_to_menu()])]
    await router.enter(ctx, "draft", **(draft | {"text": text}))
    return [_audience_picker(ctx)]


def _attachment(data: dict[str, Any]) -> tuple[str, str, bytes] | None:
    if not data.get("attachment"):
        return None
    name, mime, encoded = data["attachment"]
    return name, mime, base64.b64decode(encoded)


def _audience_picker(ctx: Context) -> Reply:
    choices = [
        Choice(router.payload("aud", "everyone"), ctx.t("broadcast.aud_everyone")),
        Choice(router.payload("units", 0), ctx.t("broadcast.aud_units")),
        Choice(router.payload("aud", "hr"), ctx.t("broadcast.aud_hr")),
        Choice(router.payload("aud", "officer"), ctx.t("broadcast.aud_officer")),
        Choice(router.payload("aud", "notrated"), ctx.t("broadcast.aud_notrated")),
        Choice(router.payload("topics"), ctx.t("broadcast.aud_notacked")),
        ctx.back_to_menu(),
    ]
    return Reply(ctx.t("broadcast.ask_audience"), choices)


@router.action("aud", roles={HR}, state="draft", args=(WORD,))
async def pick_simple(ctx: Context, args: list[str]) -> list[Reply]:
    audience = SIMPLE.get(args[0])
    if audience is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _preview(ctx, audience)


async def _units(ctx: Context) -> list[Unit]:
    return list(
        await ctx.session.scalars(
            select(Unit).where(Unit.agency_id == ctx.agency.id).order_by(Unit.name)
        )
    )


@router.action("units", roles={HR}, state="draft", args=(NUM,))
async def pick_units(ctx: Context, args: list[str]) -> list[Reply]:
    units = await _units(ctx)
    page = int(args[0]) if args[0].isdigit() else 0
    page = min(page, max(0, (len(units) - 1) // UNITS_PER_PAGE))
    chosen = set(_data(ctx).get("units", []))
    shown = units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    choices = [
        Choice(
            router.payload("unit", u.id, page),
            ("✓ " if u.id in chosen else "") + u.name,
        )
        for u in shown
    ]
    if (page + 1) * UNITS_PER_PAGE < len(units):
        choices.append(Choice(router.payload("units", page + 1), ctx.t("broadcast.more_units")))
    if chosen:
        choices.append(Choice(router.payload("unitsok"), ctx.t("broadcast.units_done")))
    choices.append(ctx.back_to_menu())
    return [Reply(ctx.t("broadcast.ask_units", count=len(chosen)), choices)]


@router.action("unit", roles={HR}, state="draft", args=(ID, NUM))
async def toggle_unit(ctx: Context, args: list[str]) -> list[Reply]:
    valid = {u.id for u in await _units(ctx)}
    if not args[0].isdigit() or int(args[0]) not in valid:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    data = _data(ctx)
    chosen = set(data.get("units", [])) ^ {int(args[0])}
    await router.enter(ctx, "draft", **(data | {"units": sorted(chosen)}))
    return await pick_units(ctx, [args[1]])


@router.action("unitsok", roles={HR}, state="draft")
async def units_done(ctx: Context, args: list[str]) -> list[Reply]:
    valid = {u.id for u in await _units(ctx)}
    chosen = tuple(u for u in _data(ctx).get("units", []) if u in valid)
    if not chosen:
        return await pick_units(ctx, ["0"])
    return await _preview(ctx, Audience(audiences.UNITS, chosen))


@router.action("topics", roles={HR}, state="draft")
async def pick_topic(ctx: Context, args: list[str]) -> list[Reply]:
    from bot.services import guidance

    topics = guidance.library().content().ordered(ctx.t.locale)[:9]
    choices = [Choice(router.payload("topic", topic.id), topic.label) for topic in topics]
    return [Reply(ctx.t("broadcast.ask_topic"), [*choices, ctx.back_to_menu()])]


@router.action("topic", roles={HR}, state="draft", args=(WORD,))
async def picked_topic(ctx: Context, args: list[str]) -> list[Reply]:
    try:
        return await _preview(ctx, Audience(audiences.NOT_ACKED, topic=args[0]))
    except AudienceError:
        return [ctx.main_menu(ctx.t("error.stale_button"))]


async def _preview(ctx: Context, audience: Audience) -> list[Reply]:
    data = _data(ctx)
    if "text" not in data:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.expired"))]
    size = await audiences.size(ctx.session, ctx.agency, audience, utcnow())
    described = await broadcasts.describe(ctx.session, ctx.agency.id, audience, ctx.t)
    state = data | {"audience": audience.to_json(), "reachable": size.reachable}
    await router.enter(ctx, "draft", **state)
    text = ctx.t(
        "broadcast.preview",
        audience=described,
        employees=size.employees,
        reachable=size.reachable,
        message=ctx.t("broadcast.message", text=data["text"]),
    )
    if data.get("attachment"):
        text += "\n" + ctx.t("broadcast.attached", name=data["attachment"][0])
    if not size.reachable:
        text += "\n\n" + ctx.t("broadcast.nobody_reachable", employees=size.employees)
    choices = [
        Choice(router.payload("now"), ctx.t("broadcast.send_now")),
        Choice(router.payload("later"), ctx.t("broadcast.send_later")),
        Choice(router.payload("again"), ctx.t("broadcast.change_audience")),
        ctx.back_to_menu(),
    ]
    return [Reply(text, choices)]


@router.action("again", roles={HR}, state="draft")
async def change_audience(ctx: Context, args: list[str]) -> list[Reply]:
    return [_audience_picker(ctx)]


@router.action("now", roles={HR}, state="draft")
async def send_now(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx)
    await router.enter(ctx, "draft", **(data | {"send_at": None}))
    count = data.get("reachable", 0)
    return [_confirm(ctx, ctx.t("broadcast.confirm_now", count=count))]


def _confirm(ctx: Context, question: str, yes: str = "broadcast.yes_send") -> Reply:
    if not _data(ctx).get("reachable", 1):
        question = ctx.t("broadcast.nobody_reachable_short") + "\n" + question
    return Reply(
        question,
        [Choice(router.payload("confirm"), ctx.t(yes)), ctx.back_to_menu()],
    )


@router.action("later", roles={HR}, state="draft")
async def ask_time(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, "await_time", **_data(ctx))
    example = when.example(ZoneInfo(ctx.agency.timezone), utcnow())
    prompt = ctx.t("broadcast.ask_time", example=example)
    return [Reply(prompt, [ctx.back_to_menu()], expects_text=True)]


@router.on_state("await_time")
async def got_time(ctx: Context, text: str) -> list[Reply]:
    data = _data(ctx)
    if HR not in ctx.roles or "audience" not in data:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    zone = ZoneInfo(ctx.agency.timezone)
    now = utcnow()
    moment = when.read(text, zone, now)
    if isinstance(moment, when.Ambiguous):
        return [Reply(ask_half(ctx.t, moment, zone), [ctx.back_to_menu()], expects_text=True)]
    if moment is None:
        example = when.example(zone, now)
        retry = ctx.t("broadcast.bad_time", example=example)
        return [Reply(retry, [ctx.back_to_menu()], expects_text=True)]
    local = dates.moment(moment, zone, ctx.t)
    if moment < now:
        return [Reply(ctx.t("broadcast.past_time", at=local), [ctx.back_to_menu()])]
    await router.enter(ctx, "draft", **(data | {"send_at": moment.isoformat()}))
    question = ctx.t("broadcast.confirm_later", at=local, count=data.get("reachable", 0))
    return [_confirm(ctx, question, "broadcast.yes_schedule")]


@router.action("confirm", roles={HR}, state="draft")
async def confirm(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx)
    if "text" not in data or "audience" not in data:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.expired"))]
    try:
        audience = Audience.from_json(data["audience"])
    except AudienceError:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    send_at = datetime.fromisoformat(data["send_at"]) if data.get("send_at") else None
    broadcast = await broadcasts.create(
        ctx.session,
        ctx.agency,
        audience,
        actor=ctx.actor,
        text=data["text"],
        send_at=send_at,
        attachment=_attachment(data),
        report_account_id=ctx.account.id,
    )
    await ctx.clear_state()
    if send_at is None:
        count = await broadcasts.release(ctx.session, broadcast, utcnow())
        lead = ctx.t("broadcast.queued", id=broadcast.id, count=count)
        if not count:
            lead = ctx.t("broadcast.queued_nobody", id=broadcast.id, targets=broadcast.recipients)
    else:
        local = dates.moment(send_at, ctx.agency.timezone, ctx.t)
        lead = ctx.t("broadcast.scheduled", id=broadcast.id, at=local)
    return [ctx.main_menu(lead)]


# --- reports -------------------------------------------------------------------------------


@router.action("list", roles={HR})
async def list_broadcasts(ctx: Context, args: list[str]) -> list[Reply]:
    rows = await broadcasts.recent(ctx.session, ctx.agency.id)
    if not rows:
        return [Reply(ctx.t("broadcast.none"), [ctx.back_to_menu()])]
    choices = [
        Choice(
            router.payload("show", b.id),
            f"#{b.id} {broadcasts.title(b, ctx.t)}",
        )
        for b in rows
    ]
    return [Reply(ctx.t("broadcast.pick"), [*choices, ctx.back_to_menu()])]


@router.action("show", roles={HR}, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text, unreached = await report(ctx.session, broadcast, ctx.t, utcnow())
    choices = []
    if unreached:
        choices.append(Choice(router.payload("csv", broadcast.id), ctx.t("broadcast.button_csv")))
    if broadcast.status in (broadcasts.SCHEDULED, broadcasts.SENDING):
        choices.append(
            Choice(router.payload("cancel", broadcast.id), ctx.t("broadcast.button_cancel"))
        )
    choices.append(Choice(router.payload("list"), ctx.t("button.back"), nav="back"))
    return [Reply(text, [*choices, ctx.back_to_menu()])]


@router.action("csv", roles={HR}, args=(ID,))
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


@router.action("cancel", roles={HR}, args=(ID,))
async def ask_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    yes = Choice(router.payload("cancelok", broadcast.id), ctx.t("broadcast.yes_cancel"))
    back = Choice(router.payload("show", broadcast.id), ctx.t("button.back"), nav="back")
    return [Reply(ctx.t("broadcast.confirm_cancel", id=broadcast.id), [yes, back])]


@router.action("cancelok", roles={HR}, args=(ID,))
async def do_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    broadcast = await broadcasts.by_id(ctx.session, ctx.agency.id, args[0])
    if broadcast is None or broadcast.status not in (broadcasts.SCHEDULED, broadcasts.SENDING):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    withdrawn = await broadcasts.cancel(ctx.session, broadcast, ctx.actor)
    return [ctx.main_menu(ctx.t("broadcast.cancelled", id=broadcast.id, count=withdrawn))]


# --- reminders -----------------------------------------------------------------------------


@router.action("reminders", roles={HR})
async def list_reminders(ctx: Context, args: list[str]) -> list[Reply]:
    rows = await reminders.listed(ctx.session, ctx.agency.id)
    lines = [ctx.t("broadcast.reminders_intro" if rows else "broadcast.reminders_none")]
    choices = []
    for r in rows[:7]:
        lines.append(await reminders.describe(ctx.session, r, ctx.t))
        choices.append(
            Choice(router.payload("remdel", r.id), ctx.t("broadcast.remove_reminder", id=r.id))
        )
    choices.append(Choice(router.payload("remadd"), ctx.t("broadcast.add_reminder")))
    return [Reply("\n".join(lines), [*choices, ctx.back_to_menu()])]


@router.action("remadd", roles={HR})
async def add_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    back = [
        Choice(router.payload("reminders"), ctx.t("button.back"), nav="back"),
        ctx.back_to_menu(),
    ]
    try:
        reminder = await reminders.add(
            ctx.session, ctx.agency, trigger=reminders.BEFORE_CLOSE, actor=ctx.actor
        )
    except reminders.ReminderError as exc:
        return [Reply(ctx.t(str(exc), **exc.params), back)]
    return [Reply(ctx.t("broadcast.reminder_added", id=reminder.id), back)]


async def _reminder(ctx: Context, raw: str):  # type: ignore[no-untyped-def]
    rows = await reminders.listed(ctx.session, ctx.agency.id)
    return next((r for r in rows if str(r.id) == raw), None)


@router.action("remdel", roles={HR}, args=(ID,))
async def ask_remove_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    reminder = await _reminder(ctx, args[0])
    if reminder is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    yes = Choice(router.payload("remdelok", reminder.id), ctx.t("broadcast.yes_remove_reminder"))
    back = Choice(router.payload("reminders"), ctx.t("button.back"), nav="back")
    return [Reply(ctx.t("broadcast.confirm_remove_reminder", id=reminder.id), [yes, back])]


@router.action("remdelok", roles={HR}, args=(ID,))
async def remove_reminder(ctx: Context, args: list[str]) -> list[Reply]:
    reminder = await _reminder(ctx, args[0])
    if reminder is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    await reminders.remove(ctx.session, reminder, ctx.actor)
    return [ctx.main_menu(ctx.t("broadcast.reminder_removed", id=reminder.id))]
