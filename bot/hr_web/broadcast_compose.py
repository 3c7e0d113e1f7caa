"""Writing a broadcast in the console: the form (text, audience with its live count, a file,
acknowledgement, now or a time), the preview as Telegram and WhatsApp will show it, and the
confirmation that records it through the same services as the chat's flow.

Between the preview and the confirmation the draft waits in the state store (as the chat's draft
does), under a key bound to the officer's web session, and is taken once: a second click on
"send" finds nothing and creates nothing.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy, MultiMapping

from bot import dates
from bot.channels import telegram_outbound, whatsapp_render, whatsapp_sender
from bot.drain import broadcast_reply
from bot.hr_web.context import HR_ROLES, WebContext, form, page, redirect
from bot.services import guidance
from bot.services.broadcasting import acks, audiences, broadcasts
from bot.services.broadcasting.audiences import Audience, AudienceError
from storage.models import Broadcast, utcnow
from storage.state import ConversationState

routes = web.RouteTableDef()
DRAFT_TTL = 3600  # seconds a previewed draft waits for its confirmation
DRAFT_STATE = "web.broadcast_draft"
# The body of the compose form: the largest file a broadcast may carry, and room for the text.
UPLOAD_LIMIT = broadcasts.MAX_ATTACHMENT + 256 * 1024
ACK_CHOICES = ("none", "ask", "remind")  # as the chat's one button steps through them


class FormProblem(Exception):
    """Input the form cannot take: a message id (with its values) shown above the form."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key, self.params = key, params


class ForeignId(Exception):
    """An id that is not the officer's agency's: answered as if it did not exist."""


@dataclass
class Draft:
    """What the form said, kept as typed (to fill the form again) and as the services take it."""

    text: str = ""
    audience: str = "everyone"
    units: list[int] = field(default_factory=list)
    topic: str = ""
    ack: str = "none"
    when: str = "now"
    day: str = ""  # YYYY-MM-DD in the agency's zone
    clock: str = ""  # HH:MM
    attachment: list[str] | None = None  # [file name, MIME type, base64 content]

    @classmethod
    def of(cls, data: MultiMapping[Any]) -> Draft:
        def one(name: str) -> str:
            value = data.get(name, "")
            return value if isinstance(value, str) else ""

        raw_units = data.getall("unit", [])
        if not all(isinstance(u, str) and u.isdigit() and len(u) < 12 for u in raw_units):
            raise FormProblem("broadcast.error.audience")
        units = [int(u) for u in raw_units]
        # Browsers send a textarea's line breaks as CRLF; the chat (and Telegram's count) has LF.
        text = one("text").replace("\r\n", "\n").strip()
        return cls(
            text=text,
            audience=one("audience") or "everyone",
            units=units,
            topic=one("topic"),
            ack=one("ack") if one("ack") in ACK_CHOICES else "none",
            when="later" if one("when") == "later" else "now",
            day=one("date").strip(),
            clock=one("time").strip(),
        )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def file(self) -> tuple[str, str, bytes] | None:
        if not self.attachment:
            return None
        name, mime, encoded = self.attachment
        return name, mime, base64.b64decode(encoded)


async def audience_of(ctx: WebContext, draft: Draft) -> Audience:
    """The audience the form names; units are re-checked against the officer's agency."""
    preset = audiences.PRESETS.get(draft.audience)
    if preset is not None:
        return preset
    try:
        if draft.audience == audiences.UNITS:
            valid = {u.id for u in await audiences.units_of(ctx.session, ctx.agency.id)}
            if set(draft.units) - valid:
                raise ForeignId
            return Audience(audiences.UNITS, tuple(sorted(set(draft.units))))
        if draft.audience == "notacked":
            return Audience(audiences.NOT_ACKED, topic=draft.topic or None)
    except AudienceError as exc:
        raise FormProblem(str(exc)) from exc
    raise FormProblem("broadcast.error.audience")


async def size_of(ctx: WebContext, audience: Audience) -> audiences.Size:
    try:
        return await audiences.size(ctx.session, ctx.agency, audience, utcnow())
    except AudienceError as exc:  # a guidance topic that does not exist
        raise FormProblem(str(exc)) from exc


def send_at_of(ctx: WebContext, draft: Draft, now: datetime) -> datetime | None:
    """None for "now"; else the local date and time in the agency's zone, not in the past."""
    if draft.when != "later":
        return None
    zone = ZoneInfo(ctx.agency.timezone)
    try:
        moment = datetime.combine(date.fromisoformat(draft.day), time.fromisoformat(draft.clock))
    except ValueError as exc:
        raise FormProblem("web.broadcasts.error.bad_time") from exc
    moment = moment.replace(tzinfo=zone)
    if moment < now:
        raise FormProblem("web.broadcasts.error.past", at=dates.moment(moment, zone, ctx.t))
    return moment


def check_text(draft: Draft) -> None:
    if not draft.text:
        raise FormProblem("web.broadcasts.error.empty")
    if broadcasts.too_long(draft.text):
        raise FormProblem(
            "web.broadcasts.error.too_long",
            limit=broadcasts.MAX_TEXT,
            length=broadcasts.text_length(draft.text),
        )


async def take_file(draft: Draft, data: MultiDictProxy[Any]) -> None:
    """The uploaded file, if any: a PDF or an image within the size limit (as in chat)."""
    upload = data.get("file")
    if not isinstance(upload, web.FileField):
        return
    content = await asyncio.to_thread(upload.file.read)
    if not content:  # the file input left empty
        return
    mime = broadcasts.accepted_attachment(content)
    if mime is None:
        raise FormProblem("web.broadcasts.error.file", mb=broadcasts.MAX_ATTACHMENT // 2**20)
    name = (upload.filename or "lampiran").replace("/", "_").replace("\\", "_")[-200:]
    draft.attachment = [name, mime, base64.b64encode(content).decode()]


# --- the draft between preview and confirmation ----------------------------------------------


def _key(ctx: WebContext, token: str) -> str:
    return f"web:broadcast:{ctx.web_session.id}:{token}"


async def keep(ctx: WebContext, draft: Draft) -> str:
    token = secrets.token_urlsafe(12)
    await ctx.app.store.set(
        _key(ctx, token), ConversationState(DRAFT_STATE, draft.to_json()), DRAFT_TTL
    )
    return token


async def kept(ctx: WebContext, token: object) -> Draft | None:
    if not isinstance(token, str) or not token or len(token) > 64:
        return None
    state = await ctx.app.store.get(_key(ctx, token))
    if state is None or state.name != DRAFT_STATE:
        return None
    return Draft.from_json(state.data)


async def take(ctx: WebContext, token: str) -> bool:
    """True once per draft, across processes: the one confirmation that may record it."""
    return await ctx.app.store.first_seen(f"{_key(ctx, token)}:taken", DRAFT_TTL)


# --- pages -----------------------------------------------------------------------------------


async def _form_page(
    ctx: WebContext,
    draft: Draft,
    *,
    status: int = 200,
    error: FormProblem | None = None,
    token: str = "",
) -> web.StreamResponse:
    """The compose form, filled with `draft`; `token` names a kept draft whose file it keeps."""
    units = await audiences.units_of(ctx.session, ctx.agency.id)
    topics = guidance.library().content().ordered(ctx.t.locale)
    count = None
    if error is None:
        try:
            count = await size_of(ctx, await audience_of(ctx, draft))
        except (FormProblem, ForeignId):
            count = None
    zone = ZoneInfo(ctx.agency.timezone)
    today = utcnow().astimezone(zone).date()
    return ctx.render(
        "broadcasts_new.html",
        status=status,
        draft=draft,
        units=units,
        topics=topics,
        count=count,
        error=error,
        limit=broadcasts.MAX_TEXT,
        mb=broadcasts.MAX_ATTACHMENT // 2**20,
        today=today.isoformat(),
        zone=dates.zone_name(zone),
        remind_hours=acks.REMIND_HOURS,
        draft_token=token if draft.attachment else "",
    )


@routes.get("/broadcasts/new", name="broadcast_new")
@page(roles=HR_ROLES)
async def new(ctx: WebContext) -> web.StreamResponse:
    token = ctx.request.query.get("draft", "")
    draft = await kept(ctx, token) if token else None
    return await _form_page(ctx, draft or Draft(), token=token if draft else "")


@routes.get("/broadcasts/count", name="broadcast_count")
@page(roles=HR_ROLES)
async def count(ctx: WebContext) -> web.StreamResponse:
    """The live recipient count beside the audience fields (an htmx fragment)."""
    try:
        draft = Draft.of(ctx.request.query)
        size = await size_of(ctx, await audience_of(ctx, draft))
    except FormProblem as problem:
        # Said in place of the count (htmx swaps only a 2xx): "choose at least one unit".
        return ctx.render("broadcasts_count.html", size=None, count_error=problem)
    except ForeignId:
        return ctx.render("broadcasts_count.html", status=404, size=None, count_error=None)
    return ctx.render("broadcasts_count.html", size=size, count_error=None)


def _preview_of(ctx: WebContext, draft: Draft) -> dict[str, Any]:
    """The message as each channel will show it, from the channels' own renderers."""
    file = draft.file()
    unsaved = Broadcast(
        text=draft.text,
        message_key=None,
        params={},
        attachment_name=file[0] if file else None,
        attachment_type=file[1] if file else None,
        attachment=file[2] if file else None,
        ack_requested=draft.ack != "none",
    )
    reply = broadcast_reply(unsaved, ctx.t, 0)
    return {
        "telegram": telegram_outbound.layout(reply),
        "whatsapp": whatsapp_render.render(reply, 0, ctx.t),
        "wa_template": whatsapp_sender.template_text(reply.text),
        "buttons": [c.label for c in reply.choices],
    }


async def _checked(
    ctx: WebContext, draft: Draft
) -> tuple[Audience, audiences.Size, datetime | None]:
    check_text(draft)
    audience = await audience_of(ctx, draft)
    size = await size_of(ctx, audience)
    return audience, size, send_at_of(ctx, draft, utcnow())


async def _preview(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    try:
        draft = Draft.of(data)
    except FormProblem as problem:
        return await _form_page(ctx, Draft(), status=400, error=problem)
    try:
        earlier = await kept(ctx, data.get("draft"))
        if earlier is not None and data.get("keep_file") == "1":
            draft.attachment = earlier.attachment
        await take_file(draft, data)
        audience, size, send_at = await _checked(ctx, draft)
    except FormProblem as problem:
        # The file stays with the form: it is kept as a draft the form names.
        token = await keep(ctx, draft) if draft.attachment else ""
        return await _form_page(ctx, draft, status=400, error=problem, token=token)
    except ForeignId:
        return ctx.render("broadcasts_missing.html", status=404)
    token = await keep(ctx, draft)
    described = await broadcasts.describe(ctx.session, ctx.agency.id, audience, ctx.t)
    return ctx.render(
        "broadcasts_preview.html",
        draft=draft,
        draft_token=token,
        audience=described,
        size=size,
        send_at=send_at,
        zone=ctx.agency.timezone,
        remind_hours=acks.REMIND_HOURS,
        **_preview_of(ctx, draft),
    )


_preview_form = form(roles=HR_ROLES)(_preview)


@routes.post("/broadcasts/new", name="broadcast_preview")
async def preview(request: web.Request) -> web.StreamResponse:
    """The form with its file: the console's body limit is raised to the attachment limit here
    only; a bigger body is refused with the form and a clear message, not a bare 413."""
    try:
        return await _preview_form(request.clone(client_max_size=UPLOAD_LIMIT))
    except web.HTTPRequestEntityTooLarge:
        return await _too_big(request)


async def _too_big_page(ctx: WebContext) -> web.StreamResponse:
    problem = FormProblem("web.broadcasts.error.file", mb=broadcasts.MAX_ATTACHMENT // 2**20)
    return await _form_page(ctx, Draft(), status=413, error=problem)


_too_big = page(roles=HR_ROLES)(_too_big_page)


@routes.post("/broadcasts/confirm", name="broadcast_confirm")
@form(roles=HR_ROLES)
async def confirm(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    """Record the previewed draft with the chat's service and send it now or at its time."""
    token = data.get("draft")
    draft = await kept(ctx, token)
    if draft is None or not isinstance(token, str):
        problem = FormProblem("web.broadcasts.error.expired")
        return await _form_page(ctx, Draft(), status=400, error=problem)
    try:
        # Checked again: the time may have passed, a unit gone, while the preview was open.
        audience, _size, send_at = await _checked(ctx, draft)
    except FormProblem as problem:
        return await _form_page(ctx, draft, status=400, error=problem, token=token)
    except ForeignId:
        return ctx.render("broadcasts_missing.html", status=404)
    if not await take(ctx, token):  # a second click on the same preview
        return redirect("/hr/broadcasts")
    await ctx.app.store.clear(_key(ctx, token))
    broadcast = await broadcasts.create(
        ctx.session,
        ctx.agency,
        audience,
        actor=ctx.actor,
        text=draft.text,
        send_at=send_at,
        attachment=draft.file(),
        ack=draft.ack != "none",
        ack_remind_hours=acks.REMIND_HOURS if draft.ack == "remind" else None,
        via="web",
    )
    if send_at is None:
        await broadcasts.release(ctx.session, broadcast, utcnow())
    done = "sent" if send_at is None else "scheduled"
    return redirect(f"/hr/broadcasts/{broadcast.id}?done={done}")
