"""The report form: a family (or an officer for them) reports a death in a few short steps.

Every answer is read for everything it says (a sentence at the name question can give the unit
and the day too), and only what is still missing is asked next, in the order of `_next`; the
answers so far travel in a ReportDraft.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import select

from bot import dates
from bot.i18n import LOCALES, translator
from bot.messages import Choice, Reply
from bot.routing import FAMILY, NUM, WORD, Context, Draft, Expect, Expired, Step
from bot.services import four_in_one as cases
from bot.services import four_in_one_words as words
from bot.services import when
from bot.services.four_in_one import RELATIONS
from bot.views import four_in_one as views
from bot.views.when import ask_half, half_choices
from handlers.four_in_one import entitlements, questions
from handlers.four_in_one.common import (
    MAX_DAYS_AGO,
    Verb,
    ask,
    ask_text,
    at_desk,
    is_staff,
    now_local,
    remember_language,
    reply,
    router,
    stale,
    today,
    zone,
)
from handlers.four_in_one.tracking import code_typed, track
from storage.models import Unit


class Report(StrEnum):
    """The questions of the report form, in the order they are asked when still unanswered."""

    WHO = "who"  # who died: a NIP or a name
    NAME = "name"  # the name, after a NIP
    UNIT = "unit"  # the unit (or a pensioner's number)
    DATE = "date"  # the day of death
    TIME = "time"  # about what time
    CONTACT = "contact"  # the reporter's name (relation and phone may come along)
    RELATION = "relation"  # the reporter's relation to the deceased
    PHONE = "phone"  # the reporter's phone
    CONFIRM = "confirm"  # the summary: send, or correct an answer


class ReportDraft(Draft):
    via: Literal["family", "officer"] = "family"  # officers open a case for the family
    nip: str | None = None
    deceased: str | None = None
    unit: str | None = None
    pensioner: str | None = None  # a pensioner's number, where an employee has a unit
    units: list[str] = Field(
        default_factory=list
    )  # the units an answer may mean, for the reporter to pick from
    date: str | None = None  # ISO day of death
    clock: str | None = None  # "HH:MM"
    part: str | None = None  # the part of the day said ("pagi") when no hour was
    night: Literal["tonight", "last"] | None = None  # "semalam", until the day is known
    no_time: bool = False  # the reporter does not know the time
    died_at: str | None = None  # ISO moment (UTC), once the day and the time make one
    contact: str | None = None
    relation: str | None = None
    phone: str | None = None
    # The two readings (ISO, local) of an hour that may be morning or evening, while asked back.
    halves: list[str] = Field(default_factory=list)


# The family's own first words, read before any question was asked (see from_message).
FIRST = "first"
# Where each kind of fact is read from: the step a text answers.
NAME_STEPS = (Report.WHO, Report.NAME)
UNIT_STEPS = (FIRST, Report.WHO, Report.NAME, Report.UNIT, Report.CONFIRM)
WHEN_STEPS = (FIRST, Report.WHO, Report.NAME, Report.UNIT, Report.DATE, Report.TIME, Report.CONFIRM)
RELATION_STEPS = (FIRST, Report.WHO, Report.NAME, Report.UNIT, Report.CONTACT, Report.CONFIRM)
PHONE_STEPS = (FIRST, Report.CONTACT, Report.PHONE, Report.CONFIRM)
SAID_PART = {
    "subuh": "four_in_one.said_part.subuh",
    "pagi": "four_in_one.said_part.pagi",
    "siang": "four_in_one.said_part.siang",
    "sore": "four_in_one.said_part.sore",
    "malam": "four_in_one.said_part.malam",
}
HEARD = ("nip", "deceased", "unit", "pensioner", "date", "clock", "part", "night", "relation")
_YES = {"kirim", "ya", "iya", "y", "benar", "sudah benar", "betul", "ok", "oke", "send", "yes"}
_EDIT = {"ubah", "edit", "koreksi", "salah", "ganti", "change"}


def _prompt(draft: ReportDraft, key: str) -> str:
    """Questions about the family are worded for the officer when they open the case."""
    return f"{key}_officer" if draft.via == "officer" else key


@router.action(Verb.NEW)
async def new(ctx: Context, args: list[str]) -> list[Reply]:
    via: Literal["family", "officer"] = "officer" if at_desk(ctx) else "family"
    key = "four_in_one.officer_intro" if via == "officer" else "four_in_one.intro"
    have_code = Choice(router.payload(Verb.TRACK), ctx.t("four_in_one.have_code"))
    return await ask(ctx, Report.WHO, key, ReportDraft(via=via), have_code)


async def from_message(ctx: Context, text: str) -> list[Reply]:
    """A family's own first words ("bapak sy meninggal td pagi, gmn caranya"): a condolence,
    what the message already said (to be corrected if wrong), and the first missing question."""
    if not is_staff(ctx) and await cases.cases_of_account(ctx.session, ctx.account):
        return await track(ctx, [])  # their own case first; "report another" is one tap away
    via: Literal["family", "officer"] = "officer" if at_desk(ctx) else "family"
    draft = await _absorb(ctx, ReportDraft(via=via), text, FIRST)
    lead = ctx.t("four_in_one.condolence") if via == "family" else None
    return await _next(ctx, draft, lead=lead, heard=any(getattr(draft, k) for k in HEARD))


async def _unit_names(ctx: Context) -> list[str]:
    rows = await ctx.session.scalars(select(Unit.name).where(Unit.agency_id == ctx.agency.id))
    return list(rows)


def _take_day(ctx: Context, draft: ReportDraft, day_: date | None) -> None:
    if day_ is None or day_ > today(ctx) or day_ < today(ctx) - timedelta(MAX_DAYS_AGO):
        return  # the date question says why, with its own words
    draft.date = day_.isoformat()
    draft.night = None
    draft.died_at = None


async def _absorb(ctx: Context, before: ReportDraft, text: str, step: str) -> ReportDraft:
    """`before` with everything `text` says that this step may take (see the *_STEPS above)."""
    draft = before.model_copy(deep=True)
    text = text[:500]
    today_ = today(ctx)
    if step in RELATION_STEPS:
        relation_ = words.relation_of(text)
        if relation_:
            draft.relation = relation_
    unit_names = await _unit_names(ctx) if step in UNIT_STEPS else []
    tail = None  # a unit typed after the name ("budi santoso dinkes")
    if step in (FIRST, *NAME_STEPS, Report.CONFIRM):
        nip = words.nip_in(text)
        if nip and cases.is_nip(nip):
            draft.nip = nip
        name = words.name_of(text, loose=step in NAME_STEPS)
        if name:
            name, tail = words.split_unit_tail(name, unit_names, cases.unit_words)
        if name and len(cases.normalize_name(name)) >= 2:
            draft.deceased = name[: cases.NAME_LIMIT]
        # "nama saya Rina, 0812…" at the question about the deceased: the reporter's own details
        own = words.own_name_of(text)
        if own:
            draft.contact = own[: cases.NAME_LIMIT]
            draft.phone = _phone_said(text) or draft.phone
    if step in UNIT_STEPS:
        unit_, several = words.read_unit(text, unit_names, cases.unit_words, tail)
        if unit_:
            draft.unit = unit_
            draft.units = []
            draft.pensioner = None
        elif several and not draft.unit:
            draft.units = list(several[:8])
    if step in WHEN_STEPS:
        found = words.when_of(text, today_)
        day_, clock = words.resolve(found, today_, now_local(ctx))
        _take_day(ctx, draft, day_)
        if found.night and day_ is None and not draft.date:
            draft.night = "tonight" if found.tonight else "last"
        if clock is not None:
            draft.clock = clock.strftime("%H:%M")
            draft.part = None
            draft.died_at = None
        elif found.part and not found.night and (not draft.clock or _retimed(step, text)):
            draft.part = found.part
            draft.clock = draft.died_at = None
            draft.no_time = False
    if step in PHONE_STEPS:
        draft.phone = _phone_said(text) or draft.phone
    return draft


def _retimed(step: str, text: str) -> bool:
    """ "td pagi" alone at the summary: the hour said before is replaced, not kept."""
    return step == Report.CONFIRM and words.is_time_only(text)


def _phone_said(text: str) -> str | None:
    """The phone a sentence gives ("Sari, 0812 3456 7890"), normalised; None if it gives none."""
    found = words.phone_in(text)
    return cases.phone_of(found) if found else None


def _settle_moment(ctx: Context, draft: ReportDraft) -> str | None:
    """The day and the clock (or "no time") make the moment of death; a moment still ahead is
    refused with the key returned."""
    if draft.died_at or not draft.date:
        return None
    if draft.clock is None and not draft.part and not draft.no_time:
        return None
    moment = time.fromisoformat(draft.clock) if draft.clock else cases.UNKNOWN_TIME
    local = datetime.fromisoformat(draft.date).replace(
        hour=moment.hour, minute=moment.minute, tzinfo=ZoneInfo(zone(ctx))
    )
    if cases.death_in_future(local, datetime.now(UTC)):
        draft.clock = None
        draft.part = None
        return "four_in_one.future_time"
    draft.died_at = local.astimezone(UTC).isoformat()
    return None


def _relation_choices(ctx: Context) -> list[Choice]:
    return [
        Choice(router.payload(Verb.RELATION, r), ctx.t(f"four_in_one.relation.{r}"))
        for r in RELATIONS
    ]


def _heard(ctx: Context, draft: ReportDraft) -> str:
    """What was understood so far, for the family to correct."""
    lines = []
    if draft.deceased:
        lines.append(ctx.t("four_in_one.heard.deceased", name=draft.deceased))
    if draft.nip:
        lines.append(ctx.t("four_in_one.heard.nip", nip=draft.nip))
    if draft.unit or draft.pensioner:
        lines.append(ctx.t("four_in_one.heard.unit", unit=draft.unit or draft.pensioner))
    if draft.died_at or draft.date:
        lines.append(ctx.t("four_in_one.heard.died", died=_died_words(ctx, draft)))
    elif draft.night:
        lines.append(ctx.t("four_in_one.heard.night"))
    if draft.relation:
        relation_ = ctx.t(f"four_in_one.relation.{draft.relation}")
        lines.append(ctx.t("four_in_one.heard.relation", relation=relation_))
    if draft.contact:
        lines.append(ctx.t("four_in_one.heard.contact", name=draft.contact))
    if draft.phone:
        lines.append(ctx.t("four_in_one.heard.phone", phone=views.display_phone(draft.phone)))
    if not lines:
        return ""
    return ctx.t("four_in_one.heard", lines="\n".join(lines))


def _died_words(ctx: Context, draft: ReportDraft) -> str:
    if draft.part and not draft.clock and draft.date:
        # "td pagi": the day read, in full, for the family to correct ("Selasa, 8 Des 2026, pagi")
        part = ctx.t(SAID_PART.get(draft.part, "four_in_one.said_part.pagi"))
        said = dates.day(date.fromisoformat(draft.date), ctx.t)
        return ctx.t("four_in_one.when_part", day=said, part=part)
    if draft.died_at:
        return views.died_text(ctx.t, datetime.fromisoformat(draft.died_at), zone(ctx))
    assert draft.date is not None
    day_ = datetime.fromisoformat(draft.date).replace(tzinfo=ZoneInfo(zone(ctx)))
    return views.died_text(ctx.t, day_, zone(ctx))


async def _next(
    ctx: Context,
    draft: ReportDraft,
    lead: str | None = None,
    heard: bool = False,
    problem: str | None = None,
) -> list[Reply]:
    """Ask the first thing still missing (or show the summary), after `lead`, `problem` and,
    with `heard`, what was understood."""
    problem = _settle_moment(ctx, draft) or problem
    head = [x for x in (lead, problem and ctx.t(problem), heard and _heard(ctx, draft)) if x]
    choices: list[Choice] = []
    step: Report
    if not draft.deceased and not draft.nip:
        step = Report.WHO
        key = "four_in_one.ask_who_free" if lead or heard else "four_in_one.edit_who"
        if key == "four_in_one.ask_who_free" and not (draft.date or draft.night):
            key = "four_in_one.ask_who_when_free"
    elif not draft.deceased:
        step, key = Report.NAME, "four_in_one.nip_noted"
    elif not (draft.nip or draft.unit or draft.pensioner):
        step, key = Report.UNIT, "four_in_one.ask_unit"
        if draft.units:
            key = "four_in_one.pick_unit"
            choices = [
                Choice(router.payload(Verb.UNIT_PICK, i), name[:24])
                for i, name in enumerate(draft.units)
            ]
    elif not draft.date and draft.night and not draft.no_time:
        step, key = Report.TIME, "four_in_one.ask_night_time"
        choices = [Choice(router.payload(Verb.NO_TIME), ctx.t("four_in_one.time_unknown"))]
    elif not draft.date:
        step, key = Report.DATE, "four_in_one.ask_date"
        choices = _day_choices(ctx)
    elif not draft.died_at:
        step, key = Report.TIME, "four_in_one.ask_time"
        choices = [Choice(router.payload(Verb.NO_TIME), ctx.t("four_in_one.time_unknown"))]
    elif not draft.contact:
        step, key = Report.CONTACT, _prompt(draft, "four_in_one.ask_contact")
        if not draft.phone and not draft.relation:
            key = _prompt(draft, "four_in_one.ask_contact_all")
        elif not draft.phone:
            key = _prompt(draft, "four_in_one.ask_contact_phone")
    elif not draft.relation:
        step, key = Report.RELATION, _prompt(draft, "four_in_one.ask_relation")
        choices = _relation_choices(ctx)
    elif not draft.phone:
        step, key = Report.PHONE, "four_in_one.ask_phone"
    else:
        return await _summary(ctx, draft, "\n\n".join(head) if head else None)
    return await ask_text(ctx, step, "\n\n".join([*head, ctx.t(key)]), draft, *choices)


def _filled(draft: ReportDraft) -> set[str]:
    return {k for k in (*HEARD, "contact", "phone") if getattr(draft, k)}


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
        return reply(ctx, ctx.t("four_in_one.bad_nip"))
    if digits.isdigit():
        # The same words whether or not the NIP is in the roster: only the officer sees the match.
        draft = ReportDraft.of(ctx)
        draft.nip, draft.deceased = digits, None
        return await ask(ctx, Report.NAME, "four_in_one.nip_noted", draft)
    return await _answered(ctx, text, Report.WHO)


async def name_step(ctx: Context, text: str) -> list[Reply]:
    return await _answered(ctx, text, Report.NAME)


async def _answered(ctx: Context, text: str, step: Report) -> list[Reply]:
    """An answer read for all it says; the question is asked again only when it said nothing."""
    before = ReportDraft.of(ctx)
    if step in NAME_STEPS:
        before.deceased = None  # the answer to "what name?" replaces the name
    draft = await _absorb(ctx, before, text, step)
    added = _filled(draft) - _filled(before)
    if step in NAME_STEPS and not draft.deceased:
        if not added:
            return reply(ctx, ctx.t("four_in_one.bad_name"))
    return await _next(ctx, draft, heard=len(added) > 1 or "contact" in added)


async def unit(ctx: Context, text: str) -> list[Reply]:
    value = " ".join(text.split())[: cases.NAME_LIMIT]
    if len(value) < 2:
        return reply(ctx, ctx.t("four_in_one.ask_unit"))
    if words.is_acknowledgement(value):
        return reply(ctx, ctx.t("four_in_one.bad_unit"))  # "iya" is no unit
    before = ReportDraft.of(ctx)
    before.units = []
    draft = await _absorb(ctx, before, text, Report.UNIT)
    if draft.unit or draft.units:
        return await _next(ctx, draft, heard=len(_filled(draft) - _filled(before)) > 1)
    noted = await _own_details(ctx, draft, text)
    if noted is not None:
        return noted
    if words.is_time_only(value):
        # "jam 5an" is when, not where: any hour it settles is kept, and the unit asked again
        kept = (draft.date, draft.clock, draft.part) != (before.date, before.clock, before.part)
        key = "four_in_one.time_noted_not_unit" if kept else "four_in_one.time_not_unit"
        return await _next(ctx, draft, problem=key)
    compact = value.replace(" ", "").replace("-", "")
    if compact.isdigit():
        draft.pensioner = value
        return await _next(ctx, draft)
    units = [u.name for u in await cases.find_units(ctx.session, ctx.agency.id, value)]
    if len(units) > 1:
        # "Dinas" fits several units: the family picks, we do not guess between them.
        draft.units = units[:8]
        return await _next(ctx, draft)
    return await _unit_chosen(ctx, draft, units[0] if units else value)


@router.action(Verb.UNIT_PICK, state=Report.UNIT, args=(NUM,))
async def unit_pick(ctx: Context, args: list[str]) -> list[Reply]:
    draft = ReportDraft.of(ctx)
    units, draft.units = draft.units, []
    if not args[0].isdigit() or int(args[0]) >= len(units):
        return stale(ctx)
    return await _unit_chosen(ctx, draft, units[int(args[0])])


async def _own_details(ctx: Context, draft: ReportDraft, text: str) -> list[Reply] | None:
    """ "Rina, 0812…" typed at a question about the death (the unit, the hour): the family's
    own details, noted, and the question asked again; None when the text is no such thing."""
    if not (words.phone_in(text) or words.own_name_of(text)):
        return None
    draft.phone = _phone_said(text) or draft.phone
    draft.contact = words.contact_of(text) or draft.contact
    return await _next(ctx, draft, problem="four_in_one.own_details_noted", heard=True)


async def _unit_chosen(ctx: Context, draft: ReportDraft, unit_: str) -> list[Reply]:
    draft.units = []
    draft.unit = unit_
    return await _next(ctx, draft)


def _day_choices(ctx: Context) -> list[Choice]:
    return [
        Choice(router.payload(Verb.DAY, n), ctx.t(f"four_in_one.days_ago.{n}")) for n in ("0", "1")
    ]


@router.action(Verb.DAY, state=Report.DATE, args=(NUM,))
async def day(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in ("0", "1"):
        return stale(ctx)
    return await _date_chosen(ctx, today(ctx) - timedelta(days=int(args[0])))


async def date_typed(ctx: Context, text: str) -> list[Reply]:
    parsed = cases.parse_date(text[:64], today(ctx))
    if parsed is None:
        # "td pagi", "kemarin sore jam 4", "semalam": the day (and time) in people's words
        draft = await _absorb(ctx, ReportDraft.of(ctx), text, Report.DATE)
        said = when.tail_clock(text[:64])
        if draft.date and not draft.clock and said and isinstance(said[1], when.Ambiguous):
            return await _at_time_step(ctx, draft, text)  # "kemarin jam 7": asked back
        if draft.date or draft.night:
            return await _next(ctx, draft)
    key = None
    if parsed is None:
        key = "four_in_one.bad_date"
    elif parsed > today(ctx):
        key = "four_in_one.future_date"
    elif parsed < today(ctx) - timedelta(MAX_DAYS_AGO):
        key = "four_in_one.too_old_date"
    if key is not None:
        return reply(ctx, ctx.t(key, days=MAX_DAYS_AGO), *_day_choices(ctx))
    assert parsed is not None
    if when.tail_clock(text[:64]) is not None:
        draft = ReportDraft.of(ctx)
        draft.date, draft.died_at, draft.night = parsed.isoformat(), None, None
        return await _at_time_step(ctx, draft, text)
    return await _date_chosen(ctx, parsed)


async def _at_time_step(ctx: Context, draft: ReportDraft, text: str) -> list[Reply]:
    """The hour came with the day ("21/11 jam 7"): the time step reads it, or asks it back."""
    await router.enter(ctx, Report.TIME, draft)
    return await time_typed(ctx, text)


async def _date_chosen(ctx: Context, day_: date) -> list[Reply]:
    draft = ReportDraft.of(ctx)
    draft.date = day_.isoformat()
    draft.died_at = None
    draft.night = None
    return await _next(ctx, draft)


@router.action(Verb.NO_TIME, state=Report.TIME)
async def no_time(ctx: Context, args: list[str]) -> list[Reply]:
    draft = ReportDraft.of(ctx)
    draft.no_time = True
    draft.clock = draft.part = draft.died_at = None
    return await _next(ctx, draft)


async def _ask_half(ctx: Context, draft: ReportDraft, clock: when.Ambiguous[time]) -> list[Reply]:
    """ "jam 7" on a day already past: 07.00 or 19.00, asked back rather than guessed, unless
    only one of them is past (a death is never in the future)."""
    assert draft.date is not None
    tz = ZoneInfo(zone(ctx))
    day_ = date.fromisoformat(draft.date)
    early, late = (datetime.combine(day_, c, tz) for c in (clock.early, clock.late))
    if cases.death_in_future(late, datetime.now(UTC)):
        return await _time_picked(ctx, draft, early)
    moment = when.Ambiguous(early, late)
    draft.halves = when.held(moment)
    await router.enter(ctx, Report.TIME, draft)
    halves = half_choices(ctx.t, moment, tz, lambda n: router.payload(Verb.TIME_HALF, n))
    unknown = Choice(router.payload(Verb.NO_TIME), ctx.t("four_in_one.time_unknown"))
    return reply(ctx, ask_half(ctx.t, moment, tz), *halves, unknown, expects_text=True)


async def _time_picked(ctx: Context, draft: ReportDraft, moment: datetime) -> list[Reply]:
    draft.clock = moment.astimezone(ZoneInfo(zone(ctx))).strftime("%H:%M")
    draft.part = draft.died_at = None
    draft.no_time = False
    draft.halves = []
    return await _next(ctx, draft)


@router.action(Verb.TIME_HALF, state=Report.TIME, args=(NUM,))
async def time_half(ctx: Context, args: list[str]) -> list[Reply]:
    """A button of the ask-back: 1 the morning reading, 2 the evening one."""
    draft = ReportDraft.of(ctx)
    asked = when.pending(draft.halves)
    picked = asked.reading(args[0]) if asked is not None else None
    if picked is None:
        return stale(ctx)
    return await _time_picked(ctx, draft, picked)


async def time_typed(ctx: Context, text: str) -> list[Reply]:
    draft = ReportDraft.of(ctx)
    asked = when.pending(draft.halves)
    if asked is not None:
        picked = when.choose(asked, text, ZoneInfo(zone(ctx)))
        if picked is not None:
            return await _time_picked(ctx, draft, picked)
        draft.halves = []
    noted = await _own_details(ctx, draft, text)
    if noted is not None:
        return noted  # a phone is no hour
    text = text[:64]
    # "kemarin jam 3": a day named with the time comes along; the "tadi" of "td pagi" does not
    # overrule the day already chosen
    found = words.when_of(text, today(ctx))
    if found.on is not None or found.days_ago or not draft.date:
        day_, _ = words.resolve(found, today(ctx), now_local(ctx))
        _take_day(ctx, draft, day_)
    said = when.tail_clock(text)
    if said is not None and isinstance(said[1], when.Ambiguous) and draft.date:
        return await _ask_half(ctx, draft, said[1])
    moment = cases.parse_time(text)
    part = None
    if moment is None:
        moment, part = words.time_answer(text)
    if moment is None and part is None:
        unknown = Choice(router.payload(Verb.NO_TIME), ctx.t("four_in_one.time_unknown"))
        return reply(ctx, ctx.t("four_in_one.bad_time"), unknown, expects_text=True)
    draft.clock = draft.part = draft.died_at = None
    draft.no_time = False
    if moment is not None:
        draft.clock = moment.strftime("%H:%M")
    else:
        draft.part = part
    if not draft.date and draft.night and moment is not None:
        night = words.When(night=True, tonight=draft.night == "tonight", clock=moment)
        day_, _ = words.resolve(night, today(ctx), now_local(ctx))
        _take_day(ctx, draft, day_)
    return await _next(ctx, draft)


async def contact_name(ctx: Context, text: str) -> list[Reply]:
    before = ReportDraft.of(ctx)
    draft = await _absorb(ctx, before, text, Report.CONTACT)
    name = words.contact_of(text)
    if not draft.relation:
        parts = [p for p in re.split(r"[,;()\n]", text) if p.strip()]
        for part in parts[1:]:
            found = words.relation_label(part, _relation_labels())
            if found:
                draft.relation = found
                break
    if not name or len(name) < 2:
        if _filled(draft) != _filled(before):
            return await _next(ctx, draft)
        return reply(ctx, ctx.t(_prompt(before, "four_in_one.ask_contact")))
    draft.contact = name[: cases.NAME_LIMIT]
    return await _next(ctx, draft)


def _relation_labels() -> dict[str, Iterable[str]]:
    """The relation buttons' labels in every language: typed as text, they are the answer."""
    return {
        r: [translator(code)(f"four_in_one.relation.{r}") for code in LOCALES] for r in RELATIONS
    }


@router.action(Verb.RELATION, state=Report.RELATION, args=(WORD,))
async def relation(ctx: Context, args: list[str]) -> list[Reply]:
    if args[0] not in RELATIONS:
        return stale(ctx)
    draft = ReportDraft.of(ctx)
    draft.relation = args[0]
    return await _next(ctx, draft)


async def relation_typed(ctx: Context, text: str) -> list[Reply]:
    found = words.relation_label(text, _relation_labels())
    if found is not None and found in RELATIONS:
        # "anak, 0812...": the phone too
        draft = await _absorb(ctx, ReportDraft.of(ctx), text, Report.PHONE)
        draft.relation = found
        return await _next(ctx, draft)
    key = _prompt(ReportDraft.of(ctx), "four_in_one.ask_relation")
    hint = ctx.t("four_in_one.relation_hint")
    return reply(ctx, f"{hint}\n\n{ctx.t(key)}", *_relation_choices(ctx))


async def phone(ctx: Context, text: str) -> list[Reply]:
    normalized = cases.phone_of(text) or _phone_said(text)
    if normalized is None:
        return reply(ctx, ctx.t("four_in_one.bad_phone"))
    draft = ReportDraft.of(ctx)
    draft.phone = normalized
    return await _next(ctx, draft)


async def _summary(ctx: Context, draft: ReportDraft, lead: str | None = None) -> list[Reply]:
    await router.enter(ctx, Report.CONFIRM, draft)
    assert draft.phone is not None and draft.relation is not None
    summary = ctx.t(
        "four_in_one.summary",
        deceased=draft.deceased or "-",
        nip=ctx.t("four_in_one.by_nip", nip=draft.nip) if draft.nip else "",
        unit=draft.unit or draft.pensioner or "-",
        died=_died_words(ctx, draft),
        contact=draft.contact,
        relation=ctx.t(f"four_in_one.relation.{draft.relation}"),
        phone=views.display_phone(draft.phone),
    )
    if draft.via != "officer":
        summary += "\n\n" + ctx.t("four_in_one.summary_next", agency=ctx.agency.name)
    summary += "\n\n" + ctx.t("four_in_one.summary_send")
    send_ = Choice(router.payload(Verb.SEND), ctx.t("four_in_one.send"))
    edit_ = Choice(router.payload(Verb.EDIT), ctx.t("four_in_one.edit"))
    return reply(ctx, f"{lead}\n\n{summary}" if lead else summary, send_, edit_)


def _corrections() -> dict[str, tuple[str, ...]]:
    """Where "Ubah" leads (the steps that ask for something, in their order) and the answers
    each one clears to ask again: every other answer stands."""
    return {spec.step.value: spec.fills for spec in REPORT.specs if spec.fills}


@router.action(Verb.EDIT, state=Report.CONFIRM)
async def edit(ctx: Context, args: list[str]) -> list[Reply]:
    steps = [
        Choice(router.payload(Verb.EDIT_STEP, step), ctx.t(f"four_in_one.edit.{step}"))
        for step in _corrections()
    ]
    await router.enter(ctx, Report.CONFIRM, ReportDraft.of(ctx))
    return reply(ctx, ctx.t("four_in_one.edit_which"), *steps)


@router.action(Verb.EDIT_STEP, state=Report.CONFIRM, args=(WORD,))
async def edit_step(ctx: Context, args: list[str]) -> list[Reply]:
    cleared = _corrections().get(args[0])
    if cleared is None:
        return stale(ctx)
    kept = {k: v for k, v in ReportDraft.of(ctx).stored().items() if k not in cleared}
    return await _next(ctx, ReportDraft.model_validate(kept))


async def confirm_typed(ctx: Context, text: str) -> list[Reply]:
    """At the summary a typed "kirim" sends, "ubah" opens the corrections, and a correction
    ("namanya Budi Santoso", "kemarin jam 3 sore") is taken with everything else kept."""
    said = words.normal(text)
    if said in _YES:
        return await send(ctx, [])
    if said in _EDIT:
        return await edit(ctx, [])
    before = ReportDraft.of(ctx)
    draft = await _absorb(ctx, before, text, Report.CONFIRM)
    if draft != before:
        # A time still ahead is refused by the next step: saying "changed" first would be a lie.
        refused = _settle_moment(ctx, draft.model_copy()) is not None
        return await _next(ctx, draft, lead=None if refused else ctx.t("four_in_one.corrected"))
    if words.is_time_only(text):
        # "jam 7": morning or evening is asked back at the time step, then the summary again
        await router.enter(ctx, Report.TIME, before)
        return await time_typed(ctx, text)
    return await _summary(ctx, draft, ctx.t("four_in_one.confirm_hint"))


@router.action(Verb.SEND, state=Report.CONFIRM)
async def send(ctx: Context, args: list[str]) -> list[Reply]:
    draft = ReportDraft.of(ctx)
    if draft.died_at is None:
        raise Expired("a summary without the moment of death")
    await ctx.clear_state()
    officer = draft.via == "officer" and at_desk(ctx)
    report = cases.Report(
        died_at=datetime.fromisoformat(draft.died_at),
        deceased_name=draft.deceased or "",
        nip=draft.nip,
        unit=draft.unit,
        pensioner_number=draft.pensioner,
        contact_name=draft.contact,
        relation=draft.relation,
        phone=draft.phone,
    )
    if not officer:
        remember_language(ctx)
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
                f"{text}\n\n{views.family_view(ctx.t, case, zone(ctx))}",
                [
                    Choice(router.payload(Verb.SHOW, case.id), ctx.t("four_in_one.open_case")),
                    ctx.back_to_menu(),
                ],
            )
        ]
    ctx.roles.add(FAMILY)
    text = ctx.t("four_in_one.opened", name=draft.contact or "", code=opened.code)
    trusted = await cases.trusted(ctx.session, case, ctx.account)
    view = views.family_view(ctx.t, case, zone(ctx), trusted=trusted)
    shown = ctx.main_menu(f"{text}\n\n{view}")
    shown.choices += [entitlements.button(ctx, case), questions.ask_button(ctx, case)]
    return [shown]


# "fills": what "Ubah" on that step clears (the date's correction asks the time again too).
REPORT = router.flow(
    Report,
    ReportDraft,
    {
        Report.WHO: Step(who, fills=("nip", "deceased")),
        Report.NAME: Step(name_step),
        Report.UNIT: Step(unit, fills=("unit", "pensioner", "units")),
        Report.DATE: Step(
            date_typed, fills=("date", "died_at", "clock", "part", "night", "no_time")
        ),
        Report.TIME: Step(time_typed, expects=(Expect.TEXT, Expect.BARE_NUMBER)),
        Report.CONTACT: Step(contact_name, fills=("contact",)),
        Report.RELATION: Step(relation_typed, fills=("relation",)),
        Report.PHONE: Step(phone, expects=(Expect.TEXT, Expect.CONTACT), fills=("phone",)),
        Report.CONFIRM: Step(confirm_typed),
    },
)
