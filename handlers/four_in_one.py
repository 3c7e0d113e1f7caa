"""4-in-1 in chat: a family reports a death and follows the four documents; officers work the
queue. Families are not in the roster, so every step is short, and nothing the office already
knows is asked again. Every button is re-checked against the database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import LOCALES
from bot.messages import Choice, Reply
from bot.routing import ASN, FAMILY, GUEST, HR, ID, NUM, WORD, Context, Router
from bot.services import audit
from bot.services import four_in_one as cases
from bot.services import four_in_one_words as words
from bot.services.four_in_one import DESK_ROLES, DOCUMENTS, RELATIONS, STAFF_ROLES, STATUSES
from bot.services.when import Ambiguous
from bot.services.when import read as read_moment
from bot.views import four_in_one as views
from bot.views.when import ask_half
from storage.models import CaseEvent, Employee, FourInOneCase

router = Router("case")
EVERYONE = {GUEST, ASN, FAMILY, *STAFF_ROLES}
# One entry for everyone (menus hold ten buttons): staff land in their queue, a family that
# follows a case sees it, anyone else starts a report.
router.menu_entry("start", "menu.case", roles=EVERYONE, order=300)
PAGE = 8
MAX_DAYS_AGO = 60


@router.roles_provider
async def family_role(ctx: Context) -> set[str]:
    return {FAMILY} if await cases.follows_any(ctx.session, ctx.account.id) else set()


def _is_staff(ctx: Context) -> bool:
    return ctx.has_any(STAFF_ROLES)


def _desk(ctx: Context) -> bool:
    return ctx.has_any(DESK_ROLES)


def _zone(ctx: Context) -> str:
    return ctx.agency.timezone


# Steps answered with a time: a typed "2" there means two o'clock, not the second button.
TIME_STEPS = {"time", "handover"}


def _reply(ctx: Context, text: str, *choices: Choice, expects_text: bool = False) -> list[Reply]:
    return [Reply(text, [*choices, ctx.back_to_menu()], expects_text=expects_text)]


async def _ask(
    ctx: Context, state: str, key: str, data: dict[str, Any], *choices: Choice
) -> list[Reply]:
    """Move to the next question; the answers so far travel in the conversation state."""
    await router.enter(ctx, state, **data)
    return _reply(ctx, ctx.t(key), *choices, expects_text=state in TIME_STEPS)


def _prompt(data: dict[str, Any], key: str) -> str:
    """Questions about the family are worded for the officer when they open the case."""
    return f"{key}_officer" if data.get("via") == "officer" else key


def _remember_language(ctx: Context) -> None:
    """Notifications are rendered from the account's language, not from the platform's hint on
    a message: a family who asks to be told is told in the language they are reading now."""
    if ctx.account.locale is None:
        ctx.account.locale = ctx.t.locale


def _data(ctx: Context) -> dict[str, Any]:
    return dict(ctx.state.data) if ctx.state else {}


@router.action("start")
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    if _is_staff(ctx):
        return await _queue(ctx, 0)
    if await cases.cases_of_account(ctx.session, ctx.account):
        return await track(ctx, [])
    return await new(ctx, [])


# --- Reporting a death --------------------------------------------------------------------------
#
# The answers so far travel in the conversation state. Every answer is read for everything it
# says (a sentence at the name question can give the unit and the day too), and only what is
# still missing is asked next, in the order of `_next`.

# Where each kind of fact is read from: the step a text answers.
NAME_STEPS = ("who", "name")
UNIT_STEPS = ("first", "who", "name", "unit", "confirm")
WHEN_STEPS = ("first", "who", "name", "unit", "date", "time", "confirm")
RELATION_STEPS = ("first", "who", "name", "unit", "contact", "confirm")
PHONE_STEPS = ("first", "contact", "phone", "confirm")
SAID_PART = {
    "subuh": "four_in_one.said_part.subuh",
    "pagi": "four_in_one.said_part.pagi",
    "siang": "four_in_one.said_part.siang",
    "sore": "four_in_one.said_part.sore",
    "malam": "four_in_one.said_part.malam",
}
HEARD = ("nip", "deceased", "unit", "pensioner", "date", "clock", "part", "night", "relation")


@router.action("new")
async def new(ctx: Context, args: list[str]) -> list[Reply]:
    via = "officer" if ctx.has_any(DESK_ROLES) else "family"
    key = "four_in_one.officer_intro" if via == "officer" else "four_in_one.intro"
    return await _ask(
        ctx,
        "who",
        key,
        {"via": via},
        Choice(router.payload("track"), ctx.t("four_in_one.have_code")),
    )


async def from_message(ctx: Context, text: str) -> list[Reply]:
    """A family's own first words ("bapak sy meninggal td pagi, gmn caranya"): a condolence,
    what the message already said (to be corrected if wrong), and the first missing question."""
    if not _is_staff(ctx) and await cases.cases_of_account(ctx.session, ctx.account):
        return await track(ctx, [])  # their own case first; "report another" is one tap away
    via = "officer" if ctx.has_any(DESK_ROLES) else "family"
    data = await _absorb(ctx, {"via": via}, text, "first")
    lead = ctx.t("four_in_one.condolence") if via == "family" else None
    return await _next(ctx, data, lead=lead, heard=any(data.get(k) for k in HEARD))


def _now_local(ctx: Context) -> datetime:
    return datetime.now(ZoneInfo(_zone(ctx)))


async def _unit_names(ctx: Context) -> list[str]:
    from sqlalchemy import select

    from storage.models import Unit

    rows = await ctx.session.scalars(select(Unit.name).where(Unit.agency_id == ctx.agency.id))
    return list(rows)


def _take_day(ctx: Context, data: dict[str, Any], day_: Any) -> None:
    if day_ is None or day_ > _today(ctx) or day_ < _today(ctx) - timedelta(MAX_DAYS_AGO):
        return  # the date question says why, with its own words
    data["date"] = day_.isoformat()
    data.pop("night", None)
    data.pop("died_at", None)


async def _absorb(ctx: Context, data: dict[str, Any], text: str, step: str) -> dict[str, Any]:
    """`data` with everything `text` says that this step may take (see the *_STEPS above)."""
    data = dict(data)
    text = text[:500]
    today = _today(ctx)
    if step in RELATION_STEPS:
        relation_ = words.relation_of(text)
        if relation_:
            data["relation"] = relation_
    if step in ("first", *NAME_STEPS, "confirm"):
        nip = words.nip_in(text)
        if nip and cases.is_nip(nip):
            data["nip"] = nip
        name = words.name_of(text, loose=step in NAME_STEPS)
        if name and len(cases.normalize_name(name)) >= 2:
            data["deceased"] = name[: cases.NAME_LIMIT]
    if step in UNIT_STEPS:
        unit_, several = words.pick_unit(text, await _unit_names(ctx), cases.unit_words)
        if unit_:
            data["unit"] = unit_
            data.pop("units", None)
            data.pop("pensioner", None)
        elif several and not data.get("unit"):
            data["units"] = several[:8]
    if step in WHEN_STEPS:
        found = words.when_of(text, today)
        day_, clock = words.resolve(found, today, _now_local(ctx))
        _take_day(ctx, data, day_)
        if found.night and day_ is None and not data.get("date"):
            data["night"] = "tonight" if found.tonight else "last"
        if clock is not None:
            data["clock"] = clock.strftime("%H:%M")
            data.pop("part", None)
            data.pop("died_at", None)
        elif found.part and not found.night and not data.get("clock"):
            data["part"] = found.part
    if step in PHONE_STEPS:
        phone_ = words.phone_in(text)
        normalized = cases.phone_of(phone_) if phone_ else None
        if normalized:
            data["phone"] = normalized
    return data


def _settle_moment(ctx: Context, data: dict[str, Any]) -> str | None:
    """The day and the clock (or "no time") make the moment of death; a moment still ahead is
    refused with the key returned."""
    if data.get("died_at") or not data.get("date"):
        return None
    clock = data.get("clock")
    if clock is None and not data.get("part") and not data.get("no_time"):
        return None
    moment = time.fromisoformat(clock) if clock else cases.UNKNOWN_TIME
    local = datetime.fromisoformat(data["date"]).replace(
        hour=moment.hour, minute=moment.minute, tzinfo=ZoneInfo(_zone(ctx))
    )
    if cases.death_in_future(local, datetime.now(UTC)):
        data.pop("clock", None)
        data.pop("part", None)
        return "four_in_one.future_time"
    data["died_at"] = local.astimezone(UTC).isoformat()
    return None


def _relation_choices(ctx: Context) -> list[Choice]:
    return [Choice(router.payload("rel", r), ctx.t(f"four_in_one.relation.{r}")) for r in RELATIONS]


def _heard(ctx: Context, data: dict[str, Any]) -> str:
    """What was understood so far, for the family to correct."""
    lines = []
    if data.get("deceased"):
        lines.append(ctx.t("four_in_one.heard.deceased", name=data["deceased"]))
    if data.get("nip"):
        lines.append(ctx.t("four_in_one.heard.nip", nip=data["nip"]))
    if data.get("unit") or data.get("pensioner"):
        lines.append(ctx.t("four_in_one.heard.unit", unit=data.get("unit") or data["pensioner"]))
    if data.get("died_at") or data.get("date"):
        lines.append(ctx.t("four_in_one.heard.died", died=_died_words(ctx, data)))
    elif data.get("night"):
        lines.append(ctx.t("four_in_one.heard.night"))
    if data.get("relation"):
        relation_ = ctx.t(f"four_in_one.relation.{data['relation']}")
        lines.append(ctx.t("four_in_one.heard.relation", relation=relation_))
    if not lines:
        return ""
    return ctx.t("four_in_one.heard", lines="\n".join(lines))


def _died_words(ctx: Context, data: dict[str, Any]) -> str:
    if data.get("died_at"):
        text = views.died_text(ctx.t, datetime.fromisoformat(data["died_at"]), _zone(ctx))
    else:
        day_ = datetime.fromisoformat(data["date"]).replace(tzinfo=ZoneInfo(_zone(ctx)))
        text = views.died_text(ctx.t, day_, _zone(ctx))
    part = data.get("part")
    if part and not data.get("clock"):
        text += " · " + ctx.t(SAID_PART.get(part, "four_in_one.said_part.pagi"))
    return text


async def _next(
    ctx: Context,
    data: dict[str, Any],
    lead: str | None = None,
    heard: bool = False,
    problem: str | None = None,
) -> list[Reply]:
    """Ask the first thing still missing (or show the summary), after `lead`, `problem` and,
    with `heard`, what was understood."""
    problem = _settle_moment(ctx, data) or problem
    head = [x for x in (lead, problem and ctx.t(problem), heard and _heard(ctx, data)) if x]
    choices: list[Choice] = []
    if not data.get("deceased") and not data.get("nip"):
        state, key = "who", "four_in_one.ask_who_free" if lead or heard else "four_in_one.edit_who"
        if key == "four_in_one.ask_who_free" and not (data.get("date") or data.get("night")):
            key = "four_in_one.ask_who_when_free"
    elif not data.get("deceased"):
        state, key = "name", "four_in_one.nip_noted"
    elif not (data.get("nip") or data.get("unit") or data.get("pensioner")):
        state, key = "unit", "four_in_one.ask_unit"
        if data.get("units"):
            key = "four_in_one.pick_unit"
            choices = [
                Choice(router.payload("unitpick", i), name[:24])
                for i, name in enumerate(data["units"])
            ]
    elif not data.get("date") and data.get("night") and not data.get("no_time"):
        state, key = "time", "four_in_one.ask_night_time"
        choices = [Choice(router.payload("notime"), ctx.t("four_in_one.time_unknown"))]
    elif not data.get("date"):
        state, key = "date", "four_in_one.ask_date"
        choices = _day_choices(ctx)
    elif not data.get("died_at"):
        state, key = "time", "four_in_one.ask_time"
        choices = [Choice(router.payload("notime"), ctx.t("four_in_one.time_unknown"))]
    elif not data.get("contact"):
        state, key = "contact", _prompt(data, "four_in_one.ask_contact")
        if not data.get("phone") and not data.get("relation"):
            key = _prompt(data, "four_in_one.ask_contact_all")
        elif not data.get("phone"):
            key = _prompt(data, "four_in_one.ask_contact_phone")
    elif not data.get("relation"):
        state, key = "relation", _prompt(data, "four_in_one.ask_relation")
        choices = _relation_choices(ctx)
    elif not data.get("phone"):
        state, key = "phone", "four_in_one.ask_phone"
    else:
        return await _summary(ctx, data, "\n\n".join(head) if head else None)
    await router.enter(ctx, state, **data)
    text = "\n\n".join([*head, ctx.t(key)])
    return _reply(ctx, text, *choices, expects_text=state in TIME_STEPS)


def _filled(data: dict[str, Any]) -> set[str]:
    return {k for k in (*HEARD, "contact", "phone") if data.get(k)}


@router.on_state("who")
async def who(ctx: Context, text: str) -> list[Reply]:
    if cases.is_code_shaped(text):
        # A family handed a code by an officer often types it at the first question.
        return await code_typed(ctx, text)
    # Counted per chat like tracking codes: the roster is not a directory to be probed.
    limit = ctx.settings.four_in_one_code_attempts
    refused = await ctx.too_many("case-who", limit, "four_in_one.too_many_who")
    if refused is not None:
        return [refused]
    digits = cases.clean_nip(text)
    if digits.isdigit() and not cases.is_nip(digits):
        return _reply(ctx, ctx.t("four_in_one.bad_nip"))
    if digits.isdigit():
        # The same words whether or not the NIP is in the roster: only the officer sees the match.
        data = _data(ctx) | {"nip": digits}
        data.pop("deceased", None)
        return await _ask(ctx, "name", "four_in_one.nip_noted", data)
    return await _answered(ctx, text, "who")


@router.on_state("name")
async def name_step(ctx: Context, text: str) -> list[Reply]:
    return await _answered(ctx, text, "name")


async def _answered(ctx: Context, text: str, step: str) -> list[Reply]:
    """An answer read for all it says; the question is asked again only when it said nothing."""
    before = _data(ctx)
    if step in NAME_STEPS:
        before.pop("deceased", None)  # the answer to "what name?" replaces the name
    data = await _absorb(ctx, before, text, step)
    added = _filled(data) - _filled(before)
    if step in NAME_STEPS and not data.get("deceased"):
        if not added:
            return _reply(ctx, ctx.t("four_in_one.bad_name"))
    return await _next(ctx, data, heard=len(added) > 1)


@router.on_state("unit")
async def unit(ctx: Context, text: str) -> list[Reply]:
    value = " ".join(text.split())[: cases.NAME_LIMIT]
    if len(value) < 2:
        return _reply(ctx, ctx.t("four_in_one.ask_unit"))
    before = _data(ctx)
    before.pop("units", None)
    data = await _absorb(ctx, before, text, "unit")
    if data.get("unit") or data.get("units"):
        return await _next(ctx, data, heard=len(_filled(data) - _filled(before)) > 1)
    compact = value.replace(" ", "").replace("-", "")
    if compact.isdigit():
        data["pensioner"] = value
        return await _next(ctx, data)
    units = [u.name for u in await cases.find_units(ctx.session, ctx.agency.id, value)]
    if len(units) > 1:
        # "Dinas" fits several units: the family picks, we do not guess between them.
        data["units"] = units[:8]
        return await _next(ctx, data)
    return await _unit_chosen(ctx, data, units[0] if units else value)


@router.action("unitpick", state="unit", args=(NUM,))
async def unit_pick(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx)
    units = data.pop("units", None) or []
    if not args[0].isdigit() or int(args[0]) >= len(units):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _unit_chosen(ctx, data, units[int(args[0])])


async def _unit_chosen(ctx: Context, data: dict[str, Any], unit_: str) -> list[Reply]:
    data.pop("units", None)
    data.pop("typed_unit", None)
    data["unit"] = unit_
    return await _next(ctx, data)


def _day_choices(ctx: Context) -> list[Choice]:
    return [
        Choice(router.payload("day", n), ctx.t(f"four_in_one.days_ago.{n}")) for n in ("0", "1")
    ]


def _today(ctx: Context) -> Any:
    return datetime.now(ZoneInfo(_zone(ctx))).date()


@router.action("day", state="date", args=(NUM,))
async def day(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in ("0", "1"):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _date_chosen(ctx, _today(ctx) - timedelta(days=int(args[0])))


@router.on_state("date")
async def date_typed(ctx: Context, text: str) -> list[Reply]:
    parsed = cases.parse_date(text[:64], _today(ctx))
    if parsed is None:
        # "td pagi", "kemarin sore jam 4", "semalam": the day (and time) in people's words
        data = await _absorb(ctx, _data(ctx), text, "date")
        if data.get("date") or data.get("night"):
            return await _next(ctx, data)
    key = None
    if parsed is None:
        key = "four_in_one.bad_date"
    elif parsed > _today(ctx):
        key = "four_in_one.future_date"
    elif parsed < _today(ctx) - timedelta(MAX_DAYS_AGO):
        key = "four_in_one.too_old_date"
    if key is not None:
        return _reply(ctx, ctx.t(key, days=MAX_DAYS_AGO), *_day_choices(ctx))
    return await _date_chosen(ctx, parsed)


async def _date_chosen(ctx: Context, day_: Any) -> list[Reply]:
    data = _data(ctx) | {"date": day_.isoformat()}
    data.pop("died_at", None)
    data.pop("night", None)
    return await _next(ctx, data)


@router.action("notime", state="time")
async def no_time(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx) | {"no_time": True}
    for key in ("clock", "part", "died_at"):
        data.pop(key, None)
    return await _next(ctx, data)


@router.on_state("time")
async def time_typed(ctx: Context, text: str) -> list[Reply]:
    data = _data(ctx)
    moment = cases.parse_time(text[:64])
    part = None
    if moment is None:
        moment, part = words.time_answer(text[:64])
    if moment is None and part is None:
        unknown = Choice(router.payload("notime"), ctx.t("four_in_one.time_unknown"))
        return _reply(ctx, ctx.t("four_in_one.bad_time"), unknown, expects_text=True)
    # "kemarin jam 3": a day named with the time comes along; the "tadi" of "td pagi" does not
    # overrule the day already chosen
    found = words.when_of(text[:64], _today(ctx))
    if found.on is not None or found.days_ago or not data.get("date"):
        day_, _ = words.resolve(found, _today(ctx), _now_local(ctx))
        _take_day(ctx, data, day_)
    for key in ("clock", "part", "died_at", "no_time"):
        data.pop(key, None)
    if moment is not None:
        data["clock"] = moment.strftime("%H:%M")
    else:
        data["part"] = part
    if not data.get("date") and data.get("night") and moment is not None:
        night = words.When(night=True, tonight=data["night"] == "tonight", clock=moment)
        day_, _ = words.resolve(night, _today(ctx), _now_local(ctx))
        _take_day(ctx, data, day_)
    return await _next(ctx, data)


@router.on_state("contact")
async def contact_name(ctx: Context, text: str) -> list[Reply]:
    before = _data(ctx)
    data = await _absorb(ctx, before, text, "contact")
    name = words.contact_of(text)
    if not data.get("relation"):
        parts = [p for p in re.split(r"[,;()\n]", text) if p.strip()]
        for part in parts[1:]:
            found = words.relation_label(part, _relation_labels(ctx))
            if found:
                data["relation"] = found
                break
    if not name or len(name) < 2:
        if _filled(data) != _filled(before):
            return await _next(ctx, data)
        return _reply(ctx, ctx.t(_prompt(before, "four_in_one.ask_contact")))
    data["contact"] = name[: cases.NAME_LIMIT]
    return await _next(ctx, data)


def _relation_labels(ctx: Context) -> dict[str, list[str]]:
    """The relation buttons' labels in every language: typed as text, they are the answer."""
    from bot.i18n import translator

    return {
        r: [translator(code)(f"four_in_one.relation.{r}") for code in LOCALES] for r in RELATIONS
    }


@router.action("rel", state="relation", args=(WORD,))
async def relation(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in RELATIONS:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _next(ctx, _data(ctx) | {"relation": args[0]})


@router.on_state("relation")
async def relation_typed(ctx: Context, text: str) -> list[Reply]:
    found = words.relation_label(text, _relation_labels(ctx))
    if found in RELATIONS:
        data = await _absorb(ctx, _data(ctx), text, "phone")  # "anak, 0812...": the phone too
        return await _next(ctx, data | {"relation": found})
    key = _prompt(_data(ctx), "four_in_one.ask_relation")
    hint = ctx.t("four_in_one.relation_hint")
    return _reply(ctx, f"{hint}\n\n{ctx.t(key)}", *_relation_choices(ctx))


@router.on_state("phone", contact=True)
async def phone(ctx: Context, text: str) -> list[Reply]:
    normalized = cases.phone_of(text)
    if normalized is None:
        found = words.phone_in(text)
        normalized = cases.phone_of(found) if found else None
    if normalized is None:
        return _reply(ctx, ctx.t("four_in_one.bad_phone"))
    return await _next(ctx, _data(ctx) | {"phone": normalized})


async def _summary(ctx: Context, data: dict[str, Any], lead: str | None = None) -> list[Reply]:
    normalized = data["phone"]
    await router.enter(ctx, "confirm", **data)
    relation_ = data["relation"]
    summary = ctx.t(
        "four_in_one.summary",
        deceased=data.get("deceased", "-"),
        nip=ctx.t("four_in_one.by_nip", nip=data["nip"]) if data.get("nip") else "",
        unit=data.get("unit") or data.get("pensioner") or "-",
        died=_died_words(ctx, data),
        contact=data["contact"],
        relation=ctx.t(f"four_in_one.relation.{relation_}"),
        phone=views.display_phone(normalized),
    )
    if data.get("via") != "officer":
        summary += "\n\n" + ctx.t("four_in_one.summary_next", agency=ctx.agency.name)
    summary += "\n\n" + ctx.t("four_in_one.summary_send")
    send_ = Choice(router.payload("send"), ctx.t("four_in_one.send"))
    edit_ = Choice(router.payload("edit"), ctx.t("four_in_one.edit"))
    return _reply(ctx, f"{lead}\n\n{summary}" if lead else summary, send_, edit_)


# Where "Ubah" leads, and the one answer it asks again: every other answer stands.
EDIT_FIELDS = ("who", "unit", "date", "contact", "relation", "phone")
EDIT_DROPS = {
    "who": ("nip", "deceased"),
    "unit": ("unit", "pensioner", "units"),
    "date": ("date", "died_at", "clock", "part", "night", "no_time"),
    "contact": ("contact",),
    "relation": ("relation",),
    "phone": ("phone",),
}
_YES = {"kirim", "ya", "iya", "y", "benar", "sudah benar", "betul", "ok", "oke", "send", "yes"}
_EDIT = {"ubah", "edit", "koreksi", "salah", "ganti", "change"}


@router.action("edit", state="confirm")
async def edit(ctx: Context, args: list[str]) -> list[Reply]:
    steps = [
        Choice(router.payload("editstep", step), ctx.t(f"four_in_one.edit.{step}"))
        for step in EDIT_FIELDS
    ]
    await router.enter(ctx, "confirm", **_data(ctx))
    return _reply(ctx, ctx.t("four_in_one.edit_which"), *steps)


@router.action("editstep", state="confirm", args=(WORD,))
async def edit_step(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in EDIT_DROPS:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    data = {k: v for k, v in _data(ctx).items() if k not in EDIT_DROPS[args[0]]}
    return await _next(ctx, data)


@router.on_state("confirm")
async def confirm_typed(ctx: Context, text: str) -> list[Reply]:
    """At the summary a typed "kirim" sends, "ubah" opens the corrections, and a correction
    ("namanya Budi Santoso", "kemarin jam 3 sore") is taken with everything else kept."""
    said = words.normal(text)
    if said in _YES:
        return await send(ctx, [])
    if said in _EDIT:
        return await edit(ctx, [])
    before = _data(ctx)
    data = await _absorb(ctx, before, text, "confirm")
    if data != before:
        return await _next(ctx, data, lead=ctx.t("four_in_one.corrected"))
    return await _summary(ctx, data, ctx.t("four_in_one.confirm_hint"))


@router.action("send", state="confirm")
async def send(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx)
    await ctx.clear_state()
    officer = data.get("via") == "officer" and ctx.has_any(DESK_ROLES)
    report = cases.Report(
        died_at=datetime.fromisoformat(data["died_at"]),
        deceased_name=data.get("deceased", ""),
        nip=data.get("nip"),
        unit=data.get("unit"),
        pensioner_number=data.get("pensioner"),
        contact_name=data.get("contact"),
        relation=data.get("relation"),
        phone=data.get("phone"),
    )
    if not officer:
        _remember_language(ctx)
    opened = await cases.open_case(
        ctx.session,
        ctx.agency,
        report,
        actor=ctx.actor,
        via="officer" if officer else "family",
        settings=ctx.settings,
        account=None if officer else ctx.account,
    )
    # The reporter's own case, new or a pending duplicate: the same words either way, and nothing
    # of any other case (a desk officer sees the duplicate in the queue and decides).
    case = opened.case
    if officer:
        cases.read_by_staff(ctx.session, case, ctx.actor, "chat")
        text = ctx.t("four_in_one.opened_for_family", number=case.id, code=opened.code)
        return [
            Reply(
                f"{text}\n\n{views.family_view(ctx.t, case, _zone(ctx))}",
                [
                    Choice(router.payload("show", case.id), ctx.t("four_in_one.open_case")),
                    ctx.back_to_menu(),
                ],
            )
        ]
    ctx.roles.add(FAMILY)
    text = ctx.t("four_in_one.opened", name=data.get("contact", ""), code=opened.code)
    trusted = await cases.trusted(ctx.session, case, ctx.account)
    view = views.family_view(ctx.t, case, _zone(ctx), trusted=trusted)
    return [ctx.main_menu(f"{text}\n\n{view}")]


# --- Tracking ---------------------------------------------------------------------------------


def _family_choices(case: FourInOneCase, ctx: Context, trusted: bool) -> list[Choice]:
    if case.status == "ready" and trusted:
        return [Choice(router.payload("received", case.id), ctx.t("four_in_one.received_button"))]
    return []


async def _family_reply(ctx: Context, case: FourInOneCase) -> Reply:
    trusted = await cases.trusted(ctx.session, case, ctx.account)
    view = views.family_view(ctx.t, case, _zone(ctx), trusted=trusted)
    return Reply(view, _family_choices(case, ctx, trusted))


@router.command("lacak", "track")
@router.action("track")
async def track(ctx: Context, args: list[str]) -> list[Reply]:
    if args and args[0].strip():
        return await code_typed(ctx, args[0])
    followed = await cases.cases_of_account(ctx.session, ctx.account)
    if not followed:
        return await _ask(ctx, "code", "four_in_one.ask_code", {})
    await ctx.clear_state()
    replies = [await _family_reply(ctx, c) for c in followed]
    replies[-1].choices += [
        Choice(router.payload("code"), ctx.t("four_in_one.other_code")),
        Choice(router.payload("new"), ctx.t("four_in_one.report_new")),
        ctx.back_to_menu(),
    ]
    return replies


@router.action("code")
async def ask_code(ctx: Context, args: list[str]) -> list[Reply]:
    return await _ask(ctx, "code", "four_in_one.ask_code", {})


@router.on_state("code")
async def code_typed(ctx: Context, text: str) -> list[Reply]:
    # Counted per chat before the lookup, so a stranger's guesses are capped whatever they type.
    limit = ctx.settings.four_in_one_code_attempts
    refused = await ctx.too_many("case-code", limit, "four_in_one.too_many")
    if refused is not None:
        return [refused]
    case = await cases.by_code(ctx.session, text[:64])
    if case is None:
        return _reply(ctx, ctx.t("four_in_one.code_unknown"))
    await router.enter(ctx, "tracked", case_id=case.id)
    follow = Choice(router.payload("follow"), ctx.t("four_in_one.follow"))
    return _reply(ctx, views.family_view(ctx.t, case, _zone(ctx)), follow)


@router.action("follow", state="tracked")
async def follow(ctx: Context, args: list[str]) -> list[Reply]:
    case_id = _data(ctx).get("case_id")
    await ctx.clear_state()
    case = await _case_by_id(ctx, case_id)
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    _remember_language(ctx)
    await cases.follow(ctx.session, case, ctx.account)
    ctx.roles.add(FAMILY)
    verified = await cases.trusted(ctx.session, case, ctx.account)
    if not verified and await cases.awaits_family(ctx.session, case):
        # The officer wrote down the family's phone: sharing it proves this chat is the family.
        await router.enter(ctx, "verify", case_id=case.id)
        text = f"{ctx.t('four_in_one.following')}\n\n{ctx.t('four_in_one.ask_verify')}"
        return [Reply(text, [ctx.back_to_menu()], request_phone=ctx.t("four_in_one.share_phone"))]
    return [ctx.main_menu(ctx.t("four_in_one.following"))]


@router.on_state("verify", contact=True)
async def verify(ctx: Context, text: str) -> list[Reply]:
    shared = ctx.inbound.contact
    case = await _case_by_id(ctx, _data(ctx).get("case_id"))
    await ctx.clear_state()
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    # Only a phone the platform proves is the sender's counts (Telegram: a contact whose user id
    # is the sender's; WhatsApp: the sender's own wa_id). A typed number, someone else's card or
    # a card without an owner proves nothing; and the phone is taken from the proof itself.
    own = shared is not None and bool(shared.user_ref) and shared.user_ref == ctx.account.user_ref
    proven = shared.phone if own and shared is not None else None
    if proven and await cases.verify_family(ctx.session, case, ctx.account, proven):
        return [ctx.main_menu(ctx.t("four_in_one.verified"))]
    return [ctx.main_menu(ctx.t("four_in_one.not_verified"))]


async def _case_by_id(ctx: Context, case_id: object) -> FourInOneCase | None:
    if not isinstance(case_id, int):
        return None
    return await ctx.session.get(FourInOneCase, case_id)


async def _followed_case(ctx: Context, raw: str) -> FourInOneCase | None:
    followed = {c.id: c for c in await cases.cases_of_account(ctx.session, ctx.account)}
    return followed.get(int(raw)) if raw.isdigit() else None


@router.action("received", args=(ID,))
async def ask_received(ctx: Context, args: list[str]) -> list[Reply]:
    """Saying the documents arrived closes the case: asked once more, in words."""
    case = await _followed_case(ctx, args[0])
    if case is None or case.status != "ready":
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    if not await cases.trusted(ctx.session, case, ctx.account):
        return [ctx.main_menu(ctx.t("four_in_one.error.not_family"))]
    return [
        Reply(
            ctx.t("four_in_one.ask_received", number=case.id),
            [
                Choice(router.payload("receivedok", case.id), ctx.t("four_in_one.received_yes")),
                Choice(router.payload("track"), ctx.t("four_in_one.not_yet")),
                ctx.back_to_menu(),
            ],
        )
    ]


@router.action("receivedok", args=(ID,))
async def received(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _followed_case(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    if not await cases.trusted(ctx.session, case, ctx.account):
        return [ctx.main_menu(ctx.t("four_in_one.error.not_family"))]
    try:
        await cases.confirm_receipt(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return [ctx.main_menu(ctx.t(exc.reason.value))]
    return [ctx.main_menu(ctx.t("four_in_one.thanks_received"))]


@router.action("handed", roles=DESK_ROLES, args=(ID,))
async def ask_handed(ctx: Context, args: list[str]) -> list[Reply]:
    """Closing a case is asked first, naming the case; before the set handover it says so."""
    case = await _staff_case(ctx, args[0])
    if case is None or case.status != "ready":
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text = ctx.t("four_in_one.ask_handed", number=case.id, name=case.deceased_name)
    at = _aware(case.handover_at)
    if at is not None and at > datetime.now(UTC):
        when = cases.when_text(ctx.t, at, _zone(ctx))
        text = f"{ctx.t('four_in_one.handed_early', when=when)}\n\n{text}"
    return _reply(
        ctx,
        text,
        Choice(router.payload("handedok", case.id), ctx.t("four_in_one.handed_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


@router.action("handedok", roles=DESK_ROLES, args=(ID,))
async def handed(ctx: Context, args: list[str]) -> list[Reply]:
    """An officer records that the family received the four documents (at the desk)."""
    case = await _staff_case(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        await cases.confirm_receipt(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.received",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
    )
    return await _card(ctx, case, ctx.t("four_in_one.handed_saved"))


# --- The officers' queue ----------------------------------------------------------------------


@router.action("queue", roles=STAFF_ROLES)
async def queue(ctx: Context, args: list[str]) -> list[Reply]:
    return await _queue(ctx, 0)


@router.action("page", roles=STAFF_ROLES, args=(NUM,))
async def page(ctx: Context, args: list[str]) -> list[Reply]:
    return await _queue(ctx, int(args[0]) if args[0].isdigit() else 0)


async def _queue(ctx: Context, page_: int) -> list[Reply]:
    await ctx.clear_state()
    rows = await cases.queue(ctx.session, ctx.agency.id, ctx.roles, PAGE + 1, page_ * PAGE)
    now = datetime.now(UTC)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.queue",
        agency_id=ctx.agency.id,
        cases=[c.id for c in rows[:PAGE]],
    )
    lines = [
        ("❗ " if c.deadline_at < now else "")
        + ctx.t(
            "four_in_one.queue_line",
            number=c.id,
            name=c.deceased_name,
            when=cases.when_text(ctx.t, c.deadline_at, _zone(ctx)),
            ready=sum(d.status in cases.READY for d in c.documents),
        )
        for c in rows[:PAGE]
    ]
    choices = [
        Choice(
            router.payload("show", c.id),
            ctx.t("four_in_one.queue_item", number=c.id, name=c.deceased_name)[:24],
        )
        for c in rows[:PAGE]
    ]
    if len(rows) > PAGE:
        choices.append(Choice(router.payload("page", page_ + 1), ctx.t("four_in_one.more")))
    waiting = await cases.count_duplicates(ctx.session, ctx.agency.id) if _desk(ctx) else 0
    if waiting:
        # Reports that repeat a case wait for the desk: merged or rejected, never automatically.
        label = ctx.t("four_in_one.duplicates_button", count=waiting)
        choices.insert(0, Choice(router.payload("dups"), label))
    if _desk(ctx):
        choices.append(Choice(router.payload("new"), ctx.t("four_in_one.new_for_family")))
    choices.append(Choice(router.payload("code"), ctx.t("four_in_one.have_code")))
    if HR in ctx.roles:
        choices.append(Choice(router.payload("report"), ctx.t("four_in_one.report_button")))
    head = ctx.t("four_in_one.queue" if rows else "four_in_one.queue_empty")
    if waiting:
        head += "\n" + ctx.t("four_in_one.duplicates_waiting", count=waiting)
    return _reply(ctx, "\n".join([head, *lines]), *choices)


@router.action("dups", roles=DESK_ROLES)
async def duplicates(ctx: Context, args: list[str]) -> list[Reply]:
    """Pending duplicates, oldest first: each opens its card, where the officer decides."""
    await ctx.clear_state()
    rows = await cases.pending_duplicates(ctx.session, ctx.agency.id, PAGE)
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="case.duplicates",
        agency_id=ctx.agency.id,
        cases=[c.id for c in rows],
    )
    lines = [
        ctx.t(
            "four_in_one.duplicate_line",
            number=c.id,
            name=c.deceased_name,
            survivor=c.duplicate_of_id or "-",
        )
        for c in rows
    ]
    choices = [
        Choice(
            router.payload("show", c.id),
            ctx.t("four_in_one.queue_item", number=c.id, name=c.deceased_name)[:24],
        )
        for c in rows
    ]
    choices.append(Choice(router.payload("queue"), ctx.t("four_in_one.to_queue"), nav="back"))
    head = ctx.t("four_in_one.duplicates_head" if rows else "four_in_one.duplicates_none")
    return _reply(ctx, "\n".join([head, *lines]), *choices)


async def _staff_case(ctx: Context, raw: str) -> FourInOneCase | None:
    if not raw.isdigit():
        return None
    return await cases.case_for_staff(ctx.session, ctx.agency.id, int(raw), ctx.roles)


@router.action("show", roles=STAFF_ROLES, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _card(ctx, case)


async def _card(ctx: Context, case: FourInOneCase, lead: str | None = None) -> list[Reply]:
    await ctx.clear_state()
    cases.read_by_staff(ctx.session, case, ctx.actor, "chat")
    text = views.staff_view(ctx.t, case, _zone(ctx))
    choices = []
    if case.status in cases.LIVE:
        choices = [
            Choice(
                router.payload("doc", case.id, d.kind),
                ctx.t(f"four_in_one.doc_short.{d.kind}"),
            )
            for d in case.documents
            if cases.may_update(ctx.roles, d.kind)
        ]
    if case.status == cases.DUPLICATE and _desk(ctx):
        # A report that repeats a case: the desk merges it into that case or rejects it.
        survivor = await cases.duplicate_target(ctx.session, case)
        if survivor is not None:
            label = ctx.t("four_in_one.merge_button", survivor=survivor.id)
            choices.append(Choice(router.payload("dupmerge", case.id), label[:24]))
        choices.append(
            Choice(router.payload("dupreject", case.id), ctx.t("four_in_one.reject_button"))
        )
    # Buttons that are always there come first and buttons that come and go after them, so a
    # typed number keeps its meaning when one appears or goes (confirming a death, all ready).
    if case.status in cases.LIVE and ctx.has_any(DESK_ROLES):
        choices.append(
            Choice(router.payload("handover", case.id), ctx.t("four_in_one.set_handover"))
        )
    if case.status in cases.LIVE and ctx.has_any(DESK_ROLES):
        # Rarer actions wait one tap away: a chat shows ten buttons at most.
        choices.append(Choice(router.payload("more", case.id), ctx.t("four_in_one.more_actions")))
    usable = case.status not in cases.NOT_CASES
    if usable and case.employee_id and not case.match_confirmed_at and _desk(ctx):
        choices.append(Choice(router.payload("match", case.id), ctx.t("four_in_one.confirm_match")))
    if _reopenable(case) and ctx.has_any(DESK_ROLES):
        choices.append(Choice(router.payload("reopen", case.id), ctx.t("four_in_one.reopen")))
    if case.status == "ready" and ctx.has_any(DESK_ROLES):
        handed_ = ctx.t("four_in_one.handed_button")
        choices.append(Choice(router.payload("handed", case.id), handed_))
    choices.append(Choice(router.payload("queue"), ctx.t("four_in_one.to_queue"), nav="back"))
    return _reply(ctx, f"{lead}\n\n{text}" if lead else text, *choices)


@router.action("doc", roles=STAFF_ROLES, args=(ID, WORD))
async def doc(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or args[1] not in DOCUMENTS or not cases.may_update(ctx.roles, args[1]):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    choices = [
        Choice(router.payload("set", case.id, args[1], i), ctx.t(f"four_in_one.status.{s}"))
        for i, s in enumerate(STATUSES)
    ]
    choices.append(Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"))
    text = ctx.t("four_in_one.pick_status", doc=ctx.t(f"four_in_one.doc.{args[1]}"))
    return _reply(ctx, text, *choices)


@router.action("set", roles=STAFF_ROLES, args=(ID, WORD, NUM))
async def set_status(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    valid = args[2].isdigit() and int(args[2]) < len(STATUSES) and args[1] in DOCUMENTS
    if case is None or not valid:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    data = {"case_id": case.id, "kind": args[1], "status": STATUSES[int(args[2])]}
    skip = Choice(router.payload("nonote"), ctx.t("four_in_one.no_note"))
    return await _ask(ctx, "note", "four_in_one.ask_note", data, skip)


@router.action("nonote", roles=STAFF_ROLES, state="note")
async def no_note(ctx: Context, args: list[str]) -> list[Reply]:
    return await _apply(ctx, None)


@router.on_state("note")
async def note(ctx: Context, text: str) -> list[Reply]:
    if not _is_staff(ctx):
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    return await _apply(ctx, text)


async def _apply(ctx: Context, note_: str | None) -> list[Reply]:
    data = _data(ctx)
    case = await _staff_case(ctx, str(data.get("case_id", "")))
    if case is None:
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        changed = await cases.set_document(
            ctx.session,
            case,
            data["kind"],
            data["status"],
            actor=ctx.actor,
            roles=ctx.roles,
            zone=_zone(ctx),
            note=note_,
        )
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    key = "four_in_one.unchanged"
    if changed:
        in_chat = any(c.account_id for c in case.contacts)
        key = "four_in_one.saved" if in_chat else "four_in_one.saved_no_chat"
    return await _card(ctx, case, ctx.t(key))


async def _duplicate(ctx: Context, raw: str) -> FourInOneCase | None:
    """A pending duplicate of the asking officer's agency, re-read from the database."""
    case = await _staff_case(ctx, raw)
    return case if case is not None and case.status == cases.DUPLICATE else None


@router.action("dupmerge", roles=DESK_ROLES, args=(ID,))
async def ask_merge_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    """Merging says first what will happen: the officer confirms the very case it goes into."""
    case = await _duplicate(ctx, args[0])
    survivor = await cases.duplicate_target(ctx.session, case) if case is not None else None
    if case is None or survivor is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text = ctx.t("four_in_one.ask_merge_duplicate", number=case.id, survivor=survivor.id)
    return _reply(
        ctx,
        text,
        Choice(router.payload("dupmergeok", case.id, survivor.id), ctx.t("four_in_one.merge_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


@router.action("dupmergeok", roles=DESK_ROLES, args=(ID, ID))
async def merge_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None or not args[1].isdigit():
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        survivor = await cases.merge_duplicate(ctx.session, case, int(args[1]), ctx.actor)
    except cases.CaseRefused:
        # The case shown is no longer where this report would go: nothing was changed.
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _card(ctx, survivor, ctx.t("four_in_one.duplicate_merged", number=case.id))


@router.action("dupreject", roles=DESK_ROLES, args=(ID,))
async def ask_reject_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return _reply(
        ctx,
        ctx.t("four_in_one.ask_reject_duplicate", number=case.id),
        Choice(router.payload("duprejectok", case.id), ctx.t("four_in_one.reject_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


@router.action("duprejectok", roles=DESK_ROLES, args=(ID,))
async def reject_duplicate(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _duplicate(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    await cases.reject_duplicate(ctx.session, case, ctx.actor)
    return await _card(ctx, case, ctx.t("four_in_one.duplicate_rejected", number=case.id))


@router.action("match", roles=DESK_ROLES, args=(ID,))
async def ask_match(ctx: Context, args: list[str]) -> list[Reply]:
    """Marking someone deceased cannot be undone by the family: the officer confirms first."""
    case = await _staff_case(ctx, args[0])
    if case is None or case.employee_id is None or case.status in cases.NOT_CASES:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    employee = await ctx.session.get(Employee, case.employee_id)
    if employee is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text = ctx.t("four_in_one.ask_match", name=employee.name, nip=employee.nip, number=case.id)
    return _reply(
        ctx,
        text,
        Choice(router.payload("matchyes", case.id), ctx.t("four_in_one.match_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


@router.action("matchyes", roles=DESK_ROLES, args=(ID,))
async def confirm_match(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        survivor = await cases.confirm_match(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    key = "four_in_one.matched_merged" if survivor.id != case.id else "four_in_one.matched"
    return await _card(ctx, survivor, ctx.t(key, number=case.id))


@router.action("more", roles=DESK_ROLES, args=(ID,))
async def more(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    choices = []
    if case.match_confirmed_at is None:
        choices.append(Choice(router.payload("attach", case.id), ctx.t("four_in_one.attach_nip")))
    if case.opened_via == "officer":
        choices.append(Choice(router.payload("newcode", case.id), ctx.t("four_in_one.new_code")))
    choices.append(Choice(router.payload("cancel", case.id), ctx.t("four_in_one.cancel")))
    choices.append(Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"))
    return _reply(ctx, ctx.t("four_in_one.more_head", number=case.id), *choices)


@router.action("newcode", roles=DESK_ROLES, args=(ID,))
async def new_code(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        code = await cases.reissue_code(ctx.session, case, ctx.actor)
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    return await _card(ctx, case, ctx.t("four_in_one.code_reissued", code=code))


@router.action("attach", roles=DESK_ROLES, args=(ID,))
async def ask_attach(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _ask(ctx, "attach", "four_in_one.ask_attach", {"case_id": case.id})


@router.on_state("attach")
async def attach_typed(ctx: Context, text: str) -> list[Reply]:
    case = await _staff_case(ctx, str(_data(ctx).get("case_id", "")))
    if case is None or not ctx.has_any(DESK_ROLES):
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    if not cases.is_nip(text):
        return _reply(ctx, ctx.t("four_in_one.ask_attach"))
    try:
        await cases.attach_candidate(ctx.session, case, text)
    except cases.CaseRefused as exc:
        return _reply(ctx, f"{ctx.t(exc.reason.value)}\n\n{ctx.t('four_in_one.ask_attach')}")
    await ctx.clear_state()
    return await ask_match(ctx, [str(case.id)])


@router.action("cancel", roles=DESK_ROLES, args=(ID,))
async def ask_cancel(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    back = Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back")
    return await _ask(ctx, "cancel", "four_in_one.ask_cancel", {"case_id": case.id}, back)


@router.on_state("cancel")
async def cancel_typed(ctx: Context, text: str) -> list[Reply]:
    case = await _staff_case(ctx, str(_data(ctx).get("case_id", "")))
    if case is None or not ctx.has_any(DESK_ROLES):
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    if len(text.strip()) < 3:
        return _reply(ctx, ctx.t("four_in_one.ask_cancel"))
    reason = " ".join(text.split())[: cases.NOTE_LIMIT]
    await router.enter(ctx, "cancel", case_id=case.id, reason=reason)
    question = ctx.t(
        "four_in_one.confirm_cancel", number=case.id, name=case.deceased_name, reason=reason
    )
    return _reply(
        ctx,
        question,
        Choice(router.payload("cancelok", case.id), ctx.t("four_in_one.cancel_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


@router.action("cancelok", roles=DESK_ROLES, state="cancel", args=(ID,))
async def cancel_confirmed(ctx: Context, args: list[str]) -> list[Reply]:
    data = _data(ctx)
    case = await _staff_case(ctx, args[0])
    if case is None or data.get("case_id") != case.id or not data.get("reason"):
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    try:
        await cases.cancel_case(ctx.session, case, actor=ctx.actor, reason=data["reason"])
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    return await _card(ctx, case, ctx.t("four_in_one.cancelled"))


# --- Undoing a closing made by mistake ----------------------------------------------------------

REOPEN_WINDOW = timedelta(days=1)


def _reopenable(case: FourInOneCase) -> bool:
    closed = _aware(case.closed_at)
    return (
        case.status == "closed"
        and closed is not None
        and datetime.now(UTC) - closed <= REOPEN_WINDOW
    )


@router.action("reopen", roles=DESK_ROLES, args=(ID,))
async def ask_reopen(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or not _reopenable(case):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return _reply(
        ctx,
        ctx.t("four_in_one.ask_reopen", number=case.id, name=case.deceased_name),
        Choice(router.payload("reopenok", case.id), ctx.t("four_in_one.reopen_yes")),
        Choice(router.payload("show", case.id), ctx.t("button.back"), nav="back"),
    )


@router.action("reopenok", roles=DESK_ROLES, args=(ID,))
async def reopen(ctx: Context, args: list[str]) -> list[Reply]:
    """A case closed by mistake goes back to "ready": the documents the closing marked handed
    over are ready again, and the history and the audit log say who undid it."""
    case = await _staff_case(ctx, args[0])
    if case is None or not _reopenable(case):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    now = datetime.now(UTC)
    closed = _aware(case.closed_at)
    actor = ctx.actor
    for doc in case.documents:
        if doc.status == "handed_over" and _aware(doc.updated_at) == closed:
            ctx.session.add(
                CaseEvent(
                    case_id=case.id, document_kind=doc.kind, kind="status", actor=actor, at=now,
                    from_status="handed_over", to_status="ready", note="reopened",
                )
            )  # fmt: skip
            doc.status, doc.updated_at, doc.updated_by = "ready", now, actor
    if _aware(case.handed_over_at) == closed:
        case.handed_over_at = None
    case.status, case.closed_at = "ready", None
    ctx.session.add(CaseEvent(case_id=case.id, kind="reopened", actor=actor, at=now))
    audit.record(
        ctx.session, actor=actor, action="case.reopen", agency_id=case.agency_id,
        target=f"case:{case.id}",
    )  # fmt: skip
    await ctx.session.flush()
    return await _card(ctx, case, ctx.t("four_in_one.reopened", number=case.id))


@router.action("report", roles={HR})
async def report(ctx: Context, args: list[str]) -> list[Reply]:
    audit.record(ctx.session, actor=ctx.actor, action="case.report", agency_id=ctx.agency.id)
    months = await cases.report(ctx.session, ctx.agency.id, datetime.now(UTC))
    lines = [views.report_text(ctx.t, m) for m in months[-6:]]
    text = (
        "\n\n".join([ctx.t("four_in_one.report_head"), *lines]) if lines else ctx.t("cli.case.none")
    )
    return _reply(
        ctx, text, Choice(router.payload("queue"), ctx.t("four_in_one.to_queue"), nav="back")
    )


@router.action("handover", roles=DESK_ROLES, args=(ID,))
async def ask_handover(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _staff_case(ctx, args[0])
    if case is None or case.status not in cases.LIVE:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    keep = Choice(router.payload("hkeep"), ctx.t("four_in_one.keep_time"))
    return await _ask(ctx, "handover", "four_in_one.ask_handover_time", {"case_id": case.id}, keep)


async def _handover_case(ctx: Context) -> FourInOneCase | None:
    case = await _staff_case(ctx, str(_data(ctx).get("case_id", "")))
    if case is None or not ctx.has_any(DESK_ROLES):
        await ctx.clear_state()
        return None
    return case


@router.on_state("handover")
async def handover_typed(ctx: Context, text: str) -> list[Reply]:
    """The time first, on its own: a time that cannot be read is said so, not taken as a place."""
    case = await _handover_case(ctx)
    if case is None:
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    keep = Choice(router.payload("hkeep"), ctx.t("four_in_one.keep_time"))
    at = read_moment(text[:64], ZoneInfo(_zone(ctx)), datetime.now(UTC))
    if isinstance(at, Ambiguous):
        return _reply(ctx, ask_half(ctx.t, at, _zone(ctx)), keep, expects_text=True)
    if at is None:
        return _reply(ctx, ctx.t("four_in_one.bad_handover_time"), keep, expects_text=True)
    if at < datetime.now(UTC):
        return _reply(
            ctx,
            f"{ctx.t('four_in_one.error.past')}\n\n{ctx.t('four_in_one.ask_handover_time')}",
            keep,
        )
    return await _ask_place(ctx, case, at.isoformat())


@router.action("hkeep", roles=DESK_ROLES, state="handover")
async def handover_keep_time(ctx: Context, args: list[str]) -> list[Reply]:
    case = await _handover_case(ctx)
    if case is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _ask_place(ctx, case, None)


async def _ask_place(ctx: Context, case: FourInOneCase, at: str | None) -> list[Reply]:
    choices = []
    if case.handover_place:
        label = ctx.t("four_in_one.keep_place", place=case.handover_place)[:24]
        choices.append(Choice(router.payload("hplace"), label))
    data = {"case_id": case.id, "at": at}
    return await _ask(ctx, "handover_place", "four_in_one.ask_handover_place", data, *choices)


@router.action("hplace", roles=DESK_ROLES, state="handover_place")
async def handover_keep_place(ctx: Context, args: list[str]) -> list[Reply]:
    return await _save_handover(ctx, None)


@router.on_state("handover_place")
async def handover_place(ctx: Context, text: str) -> list[Reply]:
    place = " ".join(text.split())[: cases.NAME_LIMIT]
    if len(place) < 3:
        return _reply(ctx, ctx.t("four_in_one.ask_handover_place"))
    return await _save_handover(ctx, place)


async def _save_handover(ctx: Context, place: str | None) -> list[Reply]:
    case = await _handover_case(ctx)
    if case is None:
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    raw = _data(ctx).get("at")
    at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    try:
        await cases.set_handover(
            ctx.session, case, at=at, place=place, actor=ctx.actor, zone=_zone(ctx)
        )
    except cases.CaseRefused as exc:
        return await _card(ctx, case, ctx.t(exc.reason.value))
    # Until an officer sets a time, the handover is planned for the target itself.
    when = cases.when_text(ctx.t, case.handover_at or case.deadline_at, _zone(ctx))
    lead = ctx.t("four_in_one.handover_set", when=when, place=case.handover_place or "-")
    late = views.late_handover(ctx.t, case, _zone(ctx))
    if late:
        lead += "\n" + late
    return await _card(ctx, case, lead)
