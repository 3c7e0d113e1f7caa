"""4-in-1 cases: the four documents a bereaved family receives by the third night.

A case is opened by the family or by an officer, matched to the roster where possible, and
followed document by document. A report that matches a case already held reveals nothing of that
case: it is answered like any new report and waits, as a pending duplicate, for a desk officer to
merge or reject it. Every change is a `case_event` row and, for the family, a `delivery` row
(bot/delivery.py) in the same unit of work.

Who sees what: a chat is the verified family of a case only when its contact row says so
(`CaseContact.verified`): the reporter's own chat on a case they opened, or a chat whose
platform-proven phone matches one an officer recorded. Everyone else who follows (code holders,
duplicate reporters, unverified contacts) sees statuses and dates only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import statistics
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.config import Settings
from bot.i18n import DEFAULT_LOCALE, Translator, translator
from bot.services import audit
from bot.services.four_in_one_deadline import DeadlineRule, deadline, moment_words
from bot.services.identity import CODE_ALPHABET
from bot.services.people import normalize_phone
from bot.services.refusal import Refused
from storage.models import (
    Account,
    Agency,
    CaseContact,
    CaseDocument,
    CaseEvent,
    Employee,
    EmployeeRole,
    FourInOneCase,
    Unit,
)

DOCUMENTS = ("taspen_book", "death_certificate", "family_card", "id_card")
# Who issues each document; officers and HR may update any of them.
OWNERS = {
    "taspen_book": "taspen",
    "death_certificate": "dukcapil",
    "family_card": "dukcapil",
    "id_card": "dukcapil",
}
STATUSES = ("pending", "in_progress", "ready", "handed_over")
READY = ("ready", "handed_over")
RELATIONS = ("spouse", "child", "parent", "other")
DESK_ROLES = ("officer", "hr")  # see and update every case of their agency
STAFF_ROLES = ("officer", "hr", "taspen", "dukcapil")
LIVE = ("open", "ready")
DUPLICATE, REJECTED, MERGED = "duplicate", "rejected", "merged"
# Reports that are not (or no longer) a case of their own: no documents move, no match, no merge.
NOT_CASES = (MERGED, DUPLICATE, REJECTED)
# Where a contact row's details came from (CaseContact.source).
BY_OFFICER, BY_REPORTER, FOLLOWER = "officer", "reporter", "follower"
RISK_LEVELS = (("risk24", timedelta(hours=24)), ("risk6", timedelta(hours=6)))

CODE_LENGTH = 12  # 31**12 ~ 8e17 codes: guessing one at 10 tries an hour is hopeless
NOTE_LIMIT = 300
NAME_LIMIT = 200


class CaseError(StrEnum):
    NOT_FOUND = "four_in_one.error.not_found"
    CLOSED = "four_in_one.error.closed"
    NOT_OWNER = "four_in_one.error.not_owner"
    BAD_STATUS = "four_in_one.error.bad_status"
    NOT_READY = "four_in_one.error.not_ready"
    NO_CANDIDATE = "four_in_one.error.no_candidate"
    PAST = "four_in_one.error.past"
    NAME_MISMATCH = "four_in_one.error.name_mismatch"
    NOT_DUPLICATE = "four_in_one.error.not_duplicate"
    NO_SURVIVOR = "four_in_one.error.no_survivor"


class CaseRefused(Refused):
    pass


# --- Codes, names and parsing -------------------------------------------------------------------


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def clean_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    # Only the hash is stored: a leaked table does not reveal codes that track a family's case.
    return hashlib.sha256(("4in1:" + clean_code(code)).encode()).hexdigest()


def looks_like_code(text: str) -> bool:
    cleaned = clean_code(text)
    return len(cleaned) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in cleaned)


def clean_nip(text: str) -> str:
    """A NIP as people write it: "19980421 202401 1 004" -> "199804212024011004"."""
    return re.sub(r"[\s.\-]", "", text)


def is_nip(text: str) -> bool:
    digits = clean_nip(text)
    return digits.isdigit() and len(digits) == 18


def is_code_shaped(text: str) -> bool:
    """A tracking code, not a name: grouped like one (ABCD-EFGH-JKLM) or carrying digits."""
    stripped = text.strip()
    grouped = re.fullmatch(r"\w{4}[-\s]\w{4}[-\s]\w{4}", stripped) is not None
    return looks_like_code(stripped) and (grouped or any(ch.isdigit() for ch in stripped))


# Honorifics families add to a name ("Alm. H. Budi"); punctuation is gone before this is applied.
_TITLES = re.compile(r"alm|almh|almarhum|almarhumah|drs|dra|ir|dr|hj|h")


def normalize_name(name: str) -> str:
    """Lower case, no titles or punctuation, single spaces ("Alm. H. Budi" -> "budi")."""
    lowered = re.sub(r"[^a-z\s]", " ", name.lower())
    words = [w for w in lowered.split() if not _TITLES.fullmatch(w)]
    return " ".join(words)


def names_agree(reported: str, roster: str) -> bool:
    """Could the reported name be the roster's? Each word in order, whole or as an initial:
    "J. Siregar" and "Joko" fit "Joko Siregar"; "Putri Gunawan" does not fit "Mega Hidayat"."""
    wanted, have = normalize_name(reported).split(), iter(normalize_name(roster).split())
    return bool(wanted) and all(
        any(w == h or (len(w) == 1 and h.startswith(w)) for h in have) for w in wanted
    )


def _normalize_ref(value: str | None) -> str:
    return re.sub(r"[^a-z0-9]", "", (value or "").lower())


def identity_key(*, employee_id: int | None, name: str, place: str | None, died_on: date) -> str:
    """What makes two reports the same death: the roster match, else name + unit/number + day."""
    if employee_id is not None:
        return f"emp:{employee_id}"
    return f"name:{normalize_name(name)}|{_normalize_ref(place)}|{died_on.isoformat()}"[:200]


_MONTH_NAMES = (
    ("januari", "jan", "january"), ("februari", "feb", "pebruari", "february"),
    ("maret", "mar", "march"), ("april", "apr"), ("mei", "may"), ("juni", "jun", "june"),
    ("juli", "jul", "july"), ("agustus", "agu", "agt", "ags", "aug", "august"),
    ("september", "sep", "sept"), ("oktober", "okt", "oct", "october"),
    ("november", "nov", "nop"), ("desember", "des", "dec", "december"),
)  # fmt: skip
_MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
# Days people name instead of a date, relative to today.
_RELATIVE_DAYS = {
    "hari ini": 0, "today": 0, "kemarin": -1, "yesterday": -1, "kemarin lusa": -2,
    "besok": 1, "tomorrow": 1, "lusa": 2,
}  # fmt: skip


def parse_date(text: str, today: date) -> date | None:
    """A date as people type it: 21-11-2026, 21/11/26, 21.11, 21/11, 2026-11-21, 21 November,
    21 Nov 2026, kemarin, hari ini (the year defaults to this one). Future days are returned:
    the caller says why they are refused."""
    lowered = " ".join(text.lower().replace("tgl", "").replace("tanggal", "").split())
    if lowered in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[lowered])
    parts = [p for p in re.split(r"[\s/.,\-]+", lowered) if p]
    if len(parts) == 3 and len(parts[0]) == 4 and parts[0].isdigit():
        parts = [parts[2], parts[1], parts[0]]  # ISO: 2026-11-21
    if len(parts) >= 2 and parts[1] in _MONTHS:
        parts[1] = str(_MONTHS[parts[1]])
    if not 2 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return None
    day, month = int(parts[0]), int(parts[1])
    year = int(parts[2]) if len(parts) == 3 else today.year
    if year < 100:
        year += 2000
    try:
        found = date(year, month, day)
    except ValueError:
        return None
    if len(parts) == 2 and found > today + timedelta(days=31):
        # "30 Des" typed on 2 January is last December, not eleven months ahead.
        return found.replace(year=found.year - 1) if (month, day) != (2, 29) else None
    return found


_TIME = re.compile(
    r"(?:jam|pukul|pkl\.?)?\s*(\d{1,2})(?:\s*[.:,h]?\s*(\d{2}))?"
    r"\s*(pagi|siang|sore|malam|am|pm)?\s*(?:wib|wita|wit)?"
)


def parse_time(text: str) -> time | None:
    """A clock time: 14.30, 14:30, 15,30, 7, pukul 15.00, jam 3 sore, 7 malam, 10 pagi."""
    match = _TIME.fullmatch(" ".join(text.lower().split()))
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    part = match.group(3)
    if hour > 23 or minute > 59 or (part and hour > 12):
        return None
    if part in ("sore", "pm") and hour < 12:
        hour += 12
    elif part == "siang" and hour < 5:
        hour += 12  # jam 1 siang
    elif part == "malam" and 5 <= hour < 12:
        hour += 12  # jam 7 malam; jam 1 malam stays 01.00
    elif part in ("malam", "am", "pagi") and hour == 12:
        hour = 0
    return time(hour, minute)


def parse_when(text: str, today: date, zone: str) -> datetime | None:
    """A day and a clock time, either in any of the forms above ("21-11 19.30", "besok jam 7
    malam", "21 Nov pukul 15.00"); the time alone means today. Local to the zone."""
    words = text.split()
    # The time is the tail: try the longest tail that reads as a time, the rest as the day.
    for cut in range(len(words)):
        moment = parse_time(" ".join(words[cut:]))
        if moment is None:
            continue
        day = parse_date(" ".join(words[:cut]), today) if cut else today
        if day is None:
            return None
        return datetime.combine(day, moment, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return None


def display_phone(phone: str) -> str:
    """6281299991234 as people read it: 0812-9999-1234."""
    local = "0" + phone[2:] if phone.startswith("62") else phone
    return "-".join(local[i : i + 4] for i in range(0, len(local), 4))


def rule_of(settings: Settings) -> DeadlineRule:
    return DeadlineRule(night=settings.four_in_one_night, hour=settings.four_in_one_hour)


# --- Words in the reader's language --------------------------------------------------------------


def when_text(t: Translator, moment: datetime, zone: str) -> str:
    words = moment_words(moment, zone, t.locale)
    return t(
        "four_in_one.when",
        weekday=words.weekday,
        part=t(f"four_in_one.part.{words.part}"),
        day=words.day,
        time=words.time,
        zone=words.zone,
    )


# A death whose hour nobody remembers is stored at the first minute of its day: the earliest
# plausible moment is never "in the future", and only the day decides the deadline.
UNKNOWN_TIME = time(0, 0)


def died_text(t: Translator, moment: datetime, zone: str) -> str:
    """When the death happened; a time nobody knew is said so, never made up."""
    if moment.astimezone(ZoneInfo(zone)).time() != UNKNOWN_TIME:
        return when_text(t, moment, zone)
    words = moment_words(moment, zone, t.locale)
    return t("four_in_one.when_no_time", weekday=words.weekday, day=words.day)


def status_lines(t: Translator, case: FourInOneCase, notes: bool = True) -> str:
    lines = []
    for doc in case.documents:
        line = t(
            "four_in_one.doc_line",
            doc=t(f"four_in_one.doc.{doc.kind}"),
            status=t(f"four_in_one.status.{doc.status}"),
        )
        lines.append(line + (f"\n   📝 {doc.note}" if notes and doc.note else ""))
    return "\n".join(lines)


def family_view(t: Translator, case: FourInOneCase, zone: str, trusted: bool = False) -> str:
    """What the family sees: statuses and dates, no personal data. Officers' notes, the handover
    place and the receipt button are only for the trusted family (see `trusted`): a code can be
    passed on, and whoever holds it learns statuses and dates only."""
    parts = [t("four_in_one.view.head", number=case.id), status_lines(t, case, notes=trusted)]
    if case.status == "closed":
        parts.append(t("four_in_one.view.closed"))
    elif case.status in ("cancelled", REJECTED):
        parts.append(t("four_in_one.view.cancelled"))
    elif case.status == "ready" and case.handover_at is not None and trusted:
        parts.append(
            t(
                "four_in_one.view.handover",
                when=when_text(t, case.handover_at, zone),
                place=case.handover_place or "-",
            )
        )
    elif case.status == "ready" and case.handover_at is not None:
        parts.append(t("four_in_one.view.handover_date", when=when_text(t, case.handover_at, zone)))
    else:
        parts.append(t("four_in_one.target", when=when_text(t, case.deadline_at, zone)))
    return "\n\n".join(parts)


def _contact_mark(t: Translator, contact: CaseContact) -> str:
    """Where a contact's details came from, and whether its chat is the verified family."""
    if contact.verified:
        return t("four_in_one.contact.verified")
    if contact.source == BY_OFFICER:
        return t("four_in_one.contact.by_officer")
    return t("four_in_one.contact.by_reporter")


def staff_view(t: Translator, case: FourInOneCase, zone: str) -> str:
    """The full case for staff (personal data: callers audit-log the read)."""
    contacts = "\n".join(
        t(
            "four_in_one.contact_line",
            name=c.name or "-",
            relation=t(f"four_in_one.relation.{c.relation}") if c.relation else "-",
            phone=display_phone(c.phone) if c.phone else "-",
            mark=_contact_mark(t, c),
        )
        for c in case.contacts
        if c.name or c.phone
    )
    chats = {c.account_id for c in case.contacts if c.account_id is not None}
    verified = {c.account_id for c in case.contacts if c.account_id is not None and c.verified}
    followers = t("four_in_one.card_followers", chats=len(chats), verified=len(verified))
    match_key = "four_in_one.match.none"
    if case.employee_id is not None:
        confirmed = case.match_confirmed_at is not None
        match_key = "four_in_one.match.confirmed" if confirmed else "four_in_one.match.candidate"
    return t(
        "four_in_one.card",
        number=case.id,
        name=case.deceased_name,
        nip=case.deceased_nip or "-",
        unit=case.deceased_unit or case.pensioner_number or "-",
        died=died_text(t, case.died_at, zone),
        target=when_text(t, case.deadline_at, zone),
        match=t(match_key),
        contacts=contacts or "-",
        docs=status_lines(t, case),
        stage=t(f"four_in_one.stage.{case.status}"),
        followers=followers,
    ) + (
        "\n\n" + t("four_in_one.card_duplicate", survivor=case.duplicate_of_id)
        if case.status == DUPLICATE and case.duplicate_of_id is not None
        else ""
    )


# --- Reading cases ------------------------------------------------------------------------------


async def _follow(session: AsyncSession, case: FourInOneCase | None) -> FourInOneCase | None:
    """A merged case answers for the case it was merged into (a pending duplicate answers only
    for itself: its suspected survivor is for staff)."""
    seen = 0
    while case is not None and case.status == MERGED and case.merged_into_id and seen < 10:
        case = await session.get(FourInOneCase, case.merged_into_id)
        seen += 1
    return case


async def by_code(session: AsyncSession, code: str) -> FourInOneCase | None:
    if not looks_like_code(code):
        return None
    found = await session.scalar(
        select(FourInOneCase).where(FourInOneCase.tracking_hash == hash_code(code))
    )
    return await _follow(session, found)


async def agency_case(session: AsyncSession, agency_id: int, case_id: int) -> FourInOneCase | None:
    """A case by number, only inside the asking staff member's agency."""
    found = await session.get(FourInOneCase, case_id)
    if found is None or found.agency_id != agency_id:
        return None
    return found


async def cases_of_account(session: AsyncSession, account: Account) -> list[FourInOneCase]:
    """The live or recently closed cases this chat follows (merged ones resolve to survivors)."""
    rows = await session.scalars(
        select(FourInOneCase)
        .join(CaseContact, CaseContact.case_id == FourInOneCase.id)
        .where(CaseContact.account_id == account.id, FourInOneCase.status != "merged")
        .order_by(FourInOneCase.deadline_at.desc())
        .limit(5)
    )
    return list(dict.fromkeys(rows))


async def follows_any(session: AsyncSession, account_id: int) -> bool:
    # A pending duplicate counts like a live case: its reporter's menus are a new reporter's.
    found = await session.scalar(
        select(CaseContact.id)
        .join(FourInOneCase, FourInOneCase.id == CaseContact.case_id)
        .where(CaseContact.account_id == account_id, FourInOneCase.status.in_((*LIVE, DUPLICATE)))
        .limit(1)
    )
    return found is not None


async def trusted(session: AsyncSession, case: FourInOneCase, account: Account) -> bool:
    """May this chat see notes and the handover place, and confirm receipt?

    Only the verified family (`CaseContact.verified`): the chat that reported a death and opened
    the case itself, or a chat that proved, through the platform, the phone an officer recorded.
    Following by code, reporting the same death again or typing a phone never verifies: passing
    a code on never passes on the power to read notes or close the case."""
    found = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.account_id == account.id,
            CaseContact.verified.is_(True),
        )
        .limit(1)
    )
    return found is not None


def _liaison_waits(roles: set[str]) -> ColumnElement[bool]:
    """Cases where a document this liaison owns still waits: all a liaison may see."""
    mine = [kind for kind, owner in OWNERS.items() if owner in roles]
    return FourInOneCase.id.in_(
        select(CaseDocument.case_id).where(
            CaseDocument.kind.in_(mine), CaseDocument.status.not_in(READY)
        )
    )


async def case_for_staff(
    session: AsyncSession, agency_id: int, case_id: int, roles: set[str]
) -> FourInOneCase | None:
    """A case as a staff member may open it: the desk any case of the agency, a liaison only a
    live case where one of their documents waits (the same rule as their queue)."""
    case = await agency_case(session, agency_id, case_id)
    if case is None or roles & set(DESK_ROLES):
        return case
    allowed = await session.scalar(
        select(FourInOneCase.id).where(
            FourInOneCase.id == case.id, FourInOneCase.status.in_(LIVE), _liaison_waits(roles)
        )
    )
    return case if allowed is not None else None


async def queue(
    session: AsyncSession, agency_id: int, roles: set[str], limit: int = 8, offset: int = 0
) -> list[FourInOneCase]:
    """Live cases, most urgent first; liaisons see the cases where one of their documents waits."""
    query = select(FourInOneCase).where(
        FourInOneCase.agency_id == agency_id, FourInOneCase.status.in_(LIVE)
    )
    if not roles & set(DESK_ROLES):
        query = query.where(_liaison_waits(roles))
    rows = await session.scalars(
        query.order_by(FourInOneCase.deadline_at, FourInOneCase.id).offset(offset).limit(limit)
    )
    return list(rows)


async def pending_duplicates(
    session: AsyncSession, agency_id: int, limit: int = 8, offset: int = 0
) -> list[FourInOneCase]:
    """Reports waiting for a desk officer to merge or reject them, oldest first."""
    rows = await session.scalars(
        select(FourInOneCase)
        .where(FourInOneCase.agency_id == agency_id, FourInOneCase.status == DUPLICATE)
        .order_by(FourInOneCase.created_at, FourInOneCase.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows)


async def count_duplicates(session: AsyncSession, agency_id: int) -> int:
    found = await session.scalar(
        select(func.count()).where(
            FourInOneCase.agency_id == agency_id, FourInOneCase.status == DUPLICATE
        )
    )
    return int(found or 0)


async def duplicate_target(session: AsyncSession, duplicate: FourInOneCase) -> FourInOneCase | None:
    """The live case a pending duplicate would be merged into (None: nothing left to merge into,
    only rejecting remains)."""
    if duplicate.status != DUPLICATE or duplicate.duplicate_of_id is None:
        return None
    survivor = await _follow(session, await session.get(FourInOneCase, duplicate.duplicate_of_id))
    if survivor is None or survivor.agency_id != duplicate.agency_id:
        return None
    return survivor if survivor.status in LIVE else None


def may_update(roles: set[str], kind: str) -> bool:
    return bool(roles & set(DESK_ROLES)) or OWNERS[kind] in roles


def read_by_staff(session: AsyncSession, case: FourInOneCase, actor: str, via: str) -> None:
    """Every staff read of a case's personal data leaves an audit row."""
    audit.record(
        session,
        actor=actor,
        action="case.view",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
        via=via,
    )


async def history(session: AsyncSession, case: FourInOneCase) -> list[CaseEvent]:
    rows = await session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    )
    return list(rows)


async def actor_names(
    session: AsyncSession, t: Translator, case: FourInOneCase, actors: set[str]
) -> dict[str, str]:
    """Who an event's actor was, in words: staff by name, a family chat by its contact's name."""
    names: dict[str, str] = {}
    for actor in actors:
        kind, _, raw = actor.partition(":")
        if not raw.isdigit():
            continue
        if kind == "employee":
            employee = await session.get(Employee, int(raw))
            if employee is not None:
                names[actor] = employee.name
        elif kind == "account":
            contact = next((c for c in case.contacts if c.account_id == int(raw)), None)
            who = contact.name if contact is not None and contact.name else None
            names[actor] = t("four_in_one.actor.family", name=who or f"#{raw}")
    return names


# --- Opening, matching and merging --------------------------------------------------------------


@dataclass
class Report:
    """What the family (or the officer for them) told us."""

    died_at: datetime
    deceased_name: str = ""
    nip: str | None = None
    unit: str | None = None
    pensioner_number: str | None = None
    contact_name: str | None = None
    relation: str | None = None
    phone: str | None = None


@cache
def unit_aliases() -> dict[str, str]:
    path = Path(__file__).with_name("four_in_one_units.toml")
    with path.open("rb") as fh:
        return dict(tomllib.load(fh)["aliases"])


def _unit_words(text: str) -> list[str]:
    aliases = unit_aliases()
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return " ".join(aliases.get(w, w) for w in words).split()


unit_words = _unit_words  # for reading a unit out of a sentence (four_in_one_words.pick_unit)


async def find_units(session: AsyncSession, agency_id: int, typed: str) -> list[Unit]:
    """The roster units a typed unit can mean: the exact name, else every unit holding all the
    typed words once short names are expanded ("Dinkes" -> Dinas Kesehatan). Several results
    mean the typing is ambiguous: the caller asks, it never guesses."""
    wanted = _unit_words(typed)
    if not wanted:
        return []
    units = list(await session.scalars(select(Unit).where(Unit.agency_id == agency_id)))
    exact = [u for u in units if _unit_words(u.name) == wanted]
    if exact:
        return exact
    return [u for u in units if set(wanted) <= set(_unit_words(u.name))]


async def match(session: AsyncSession, agency_id: int, report: Report) -> Employee | None:
    """The roster entry a report points to: by NIP, else by a unique name in the named unit."""
    if report.nip:
        return await session.scalar(
            select(Employee).where(Employee.agency_id == agency_id, Employee.nip == report.nip)
        )
    if not report.deceased_name or not report.unit:
        return None
    units = await find_units(session, agency_id, report.unit)
    if len(units) != 1:
        return None
    wanted_name = normalize_name(report.deceased_name)
    rows = await session.scalars(
        select(Employee)
        .where(
            Employee.agency_id == agency_id,
            Employee.unit_id == units[0].id,
            func.lower(Employee.name).like(f"%{wanted_name.split(' ')[-1]}%"),
        )
        .limit(50)
    )
    found = [e for e in rows if normalize_name(e.name) == wanted_name]
    return found[0] if len(found) == 1 else None


async def _live_by_identity(
    session: AsyncSession, agency_id: int, key: str
) -> FourInOneCase | None:
    return await session.scalar(
        select(FourInOneCase).where(
            FourInOneCase.agency_id == agency_id,
            FourInOneCase.identity_key == key,
            FourInOneCase.status != "merged",
        )
    )


def _event(
    session: AsyncSession,
    case: FourInOneCase,
    kind: str,
    actor: str,
    now: datetime,
    **fields: str | None,
) -> None:
    session.add(CaseEvent(case_id=case.id, kind=kind, actor=actor, at=now, **fields))


@dataclass
class Opened:
    case: FourInOneCase  # the reporter's own case: a new one, or their pending duplicate
    code: str
    duplicate_of: int | None = None  # staff only: the case this report seems to repeat


async def open_case(
    session: AsyncSession,
    agency: Agency,
    report: Report,
    *,
    actor: str,
    via: str,
    settings: Settings,
    account: Account | None = None,
    now: datetime | None = None,
) -> Opened:
    """Open a case for a report, or hold it as a pending duplicate of the case for that death.

    Either way the reporter gets a case of their own, with its own code, documents and target
    computed from what they reported, and the same words: a report that matches a case learns
    nothing of it (not that it exists, nor its code, notes, place, names or statuses). A desk
    officer then merges the duplicate into the case or rejects it (`merge_duplicate`,
    `reject_duplicate`). The tracking code is returned once and only its hash kept.
    """
    now = now or datetime.now(UTC)
    employee = await match(session, agency.id, report)
    if employee is not None:
        # The roster's spelling: what a family types ("Pak Joko") is not how HR files the name.
        report.deceased_name = employee.name
        report.unit = report.unit or employee.unit.name
    died_on = report.died_at.astimezone(ZoneInfo(agency.timezone)).date()
    key = identity_key(
        employee_id=employee.id if employee else None,
        name=report.deceased_name,
        place=report.pensioner_number or report.unit,
        died_on=died_on,
    )
    code = new_code()
    fields = dict(
        agency_id=agency.id,
        tracking_hash=hash_code(code),
        identity_key=key,
        employee_id=employee.id if employee else None,
        deceased_name=report.deceased_name[:NAME_LIMIT],
        deceased_nip=employee.nip if employee else report.nip,
        deceased_unit=(report.unit or "")[:NAME_LIMIT] or None,
        pensioner_number=report.pensioner_number,
        died_at=report.died_at,
        deadline_at=deadline(report.died_at, agency.timezone, rule_of(settings)),
        opened_month=now.astimezone(ZoneInfo(agency.timezone)).strftime("%Y-%m"),
        opened_by=actor,
        opened_via=via,
        handover_place=settings.four_in_one_place,
        created_at=now,
    )
    survivor = await _live_by_identity(session, agency.id, key)
    if survivor is None:
        case = FourInOneCase(**fields, status="open")
        try:
            async with session.begin_nested():
                session.add(case)
                await session.flush()
        except IntegrityError:
            # Another report of the same death committed between our check and insert.
            survivor = await _live_by_identity(session, agency.id, key)
            if survivor is None:
                raise
    if survivor is not None:
        # Its own key, so the live case keeps the death's; the survivor is noted for staff only.
        held = fields | {"identity_key": f"duplicate:{fields['tracking_hash'][:40]}"}
        case = FourInOneCase(**held, status=DUPLICATE, duplicate_of_id=survivor.id)
        session.add(case)
        await session.flush()
        _event(session, survivor, "duplicate", actor, now, note=f"case:{case.id}")
    for position, kind in enumerate(DOCUMENTS):
        session.add(
            CaseDocument(
                case_id=case.id,
                kind=kind,
                position=position,
                owner_role=OWNERS[kind],
                updated_at=now,
                updated_by=actor,
            )
        )
    _event(session, case, "opened", actor, now, note=via)
    if survivor is not None:
        _event(session, case, "duplicate", actor, now, note=f"case:{survivor.id}")
    await _add_contact(session, case, report, account, via=via, duplicate=survivor is not None)
    audit.record(
        session,
        actor=actor,
        action="case.open",
        agency_id=agency.id,
        target=f"case:{case.id}",
        via=via,
        duplicate_of=survivor.id if survivor is not None else None,
    )
    await session.flush()
    await session.refresh(case)
    return Opened(case, code, survivor.id if survivor is not None else None)


async def _add_contact(
    session: AsyncSession,
    case: FourInOneCase,
    report: Report,
    account: Account | None,
    *,
    via: str,
    duplicate: bool,
) -> None:
    """Record who reported. Details an officer typed are the officer's record (a chat may later
    prove that phone); details a family typed are their own claim and never verify anyone. The
    reporting chat is the verified family only of a case it opened itself, not of a duplicate."""
    officer = via == "officer"
    phone = normalize_phone(report.phone) if report.phone else None
    details = CaseContact(
        case_id=case.id,
        account_id=account.id if account is not None and not officer else None,
        name=(report.contact_name or "")[:NAME_LIMIT] or None,
        relation=report.relation,
        phone=phone,
        source=BY_OFFICER if officer else BY_REPORTER,
        verified=account is not None and not officer and not duplicate,
    )
    if details.name or details.phone or details.account_id:
        session.add(details)


async def follow(session: AsyncSession, case: FourInOneCase, account: Account) -> bool:
    """A chat that holds the tracking code asks to be told of changes; True if newly added.
    It follows unverified: statuses and dates only."""
    existing = await session.scalar(
        select(CaseContact.id).where(
            CaseContact.case_id == case.id, CaseContact.account_id == account.id
        )
    )
    if existing is not None:
        return False
    session.add(CaseContact(case_id=case.id, account_id=account.id, source=FOLLOWER))
    await session.flush()
    return True


async def awaits_family(session: AsyncSession, case: FourInOneCase) -> bool:
    """An officer recorded a family phone on this live case, which a chat may prove is theirs."""
    if case.status not in LIVE:
        return False
    found = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.source == BY_OFFICER,
            CaseContact.phone.is_not(None),
        )
        .limit(1)
    )
    return found is not None


async def verify_family(
    session: AsyncSession, case: FourInOneCase, account: Account, proven_phone: str
) -> bool:
    """A chat whose own phone, as the platform proves it (Telegram: a contact whose user id is
    the sender; WhatsApp: the sender's wa_id), is one an officer recorded for this case becomes
    its verified family. The caller proves the phone; a typed number must never reach here.

    Only officer-recorded rows count: a phone the reporter gave about themselves (their report,
    a duplicate report folded in, the phone step) is their own claim and proves nothing."""
    wanted = normalize_phone(proven_phone)
    if wanted is None or case.status not in LIVE:
        return False
    recorded = await session.scalar(
        select(CaseContact.id)
        .where(
            CaseContact.case_id == case.id,
            CaseContact.source == BY_OFFICER,
            CaseContact.phone == wanted,
        )
        .limit(1)
    )
    if recorded is None:
        return False
    rows = list(
        await session.scalars(
            select(CaseContact).where(
                CaseContact.case_id == case.id, CaseContact.account_id == account.id
            )
        )
    )
    if not rows:
        rows = [CaseContact(case_id=case.id, account_id=account.id, source=FOLLOWER)]
        session.add(rows[0])
    for row in rows:
        row.verified = True
    _event(
        session, case, "verified", f"account:{account.id}", datetime.now(UTC),
        note=f"contact:{recorded}",
    )  # fmt: skip
    await session.flush()
    return True


async def merge(
    session: AsyncSession,
    survivor: FourInOneCase,
    duplicate: FourInOneCase,
    actor: str,
    now: datetime,
) -> None:
    """Fold a duplicate into the survivor: its followers and any further document progress.

    The duplicate's chats keep following, unverified: being the verified family of one case
    says nothing about another. Their details stay for the officer, with their source: a
    reporter's own phone never becomes a phone to verify against."""
    duplicate.status = MERGED
    duplicate.merged_into_id = survivor.id
    await session.flush()
    for row in list(
        await session.scalars(select(CaseContact).where(CaseContact.case_id == duplicate.id))
    ):
        row.case_id = survivor.id
        row.verified = False
    theirs = {d.kind: d for d in duplicate.documents}
    for doc in survivor.documents:
        other = theirs.get(doc.kind)
        if other is not None and STATUSES.index(other.status) > STATUSES.index(doc.status):
            _event(
                session, survivor, "status", actor, now,
                document_kind=doc.kind, from_status=doc.status, to_status=other.status,
            )  # fmt: skip
            doc.status, doc.ready_at, doc.updated_at = other.status, other.ready_at, now
            doc.updated_by = other.updated_by
    _event(session, survivor, "merged", actor, now, note=f"case:{duplicate.id}")
    audit.record(
        session,
        actor=actor,
        action="case.merge",
        agency_id=survivor.agency_id,
        target=f"case:{survivor.id}",
        duplicate=duplicate.id,
    )
    await session.flush()
    # The rows moved: load both lists again now (a lazy load later would be I/O out of place).
    await session.refresh(survivor, ["contacts"])
    await session.refresh(duplicate, ["contacts"])
    await _sync_status(session, survivor, actor, now)


async def confirm_match(
    session: AsyncSession,
    case: FourInOneCase,
    actor: str,
    *,
    employee: Employee | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> FourInOneCase:
    """An officer confirms who died: the employee is marked deceased, duplicates are merged.

    Returns the case that lives on (another case for the same employee may absorb this one).
    """
    now = now or datetime.now(UTC)
    if case.status in NOT_CASES:
        raise CaseRefused(CaseError.CLOSED)
    if employee is None and case.employee_id is not None:
        employee = await session.get(Employee, case.employee_id)
    if employee is None or employee.agency_id != case.agency_id:
        raise CaseRefused(CaseError.NO_CANDIDATE)
    reported = normalize_name(case.deceased_name)
    if reported and not names_agree(reported, employee.name) and not force:
        # A mistyped NIP would mark a living colleague deceased: the names must agree.
        raise CaseRefused(CaseError.NAME_MISMATCH)
    if case.deceased_name != employee.name:
        # From now on the queue and the card carry the roster's spelling; the report keeps its own.
        _event(session, case, "renamed", actor, now, note=case.deceased_name[:NOTE_LIMIT] or None)
        case.deceased_name = employee.name
    employee.status = "deceased"
    case.employee_id = employee.id
    case.deceased_nip = employee.nip
    case.match_confirmed_at, case.match_confirmed_by = now, actor
    _event(session, case, "matched", actor, now, note=f"employee:{employee.id}")
    audit.record(
        session,
        actor=actor,
        action="employee.deceased",
        agency_id=case.agency_id,
        target=f"employee:{employee.id}",
        case=case.id,
    )
    key = f"emp:{employee.id}"
    other = await _live_by_identity(session, case.agency_id, key)
    if other is not None and other.id != case.id:
        survivor, duplicate = (other, case) if other.id < case.id else (case, other)
        if duplicate is survivor:
            return survivor
        duplicate.identity_key = f"merged:{duplicate.id}"
        await merge(session, survivor, duplicate, actor, now)
        survivor.identity_key = key
        survivor.employee_id = employee.id
        await session.flush()
        return survivor
    case.identity_key = key
    await session.flush()
    return case


async def merge_duplicate(
    session: AsyncSession,
    duplicate: FourInOneCase,
    survivor_id: int,
    actor: str,
    now: datetime | None = None,
) -> FourInOneCase:
    """A desk officer folds a pending duplicate into the live case it repeats. `survivor_id` is
    the case the officer was shown: if that is no longer where the duplicate would go, nothing
    happens. The duplicate's reporter then follows the survivor unverified (statuses and dates)."""
    now = now or datetime.now(UTC)
    if duplicate.status != DUPLICATE:
        raise CaseRefused(CaseError.NOT_DUPLICATE)
    survivor = await duplicate_target(session, duplicate)
    if survivor is None or survivor.id != survivor_id:
        raise CaseRefused(CaseError.NO_SURVIVOR)
    told = await _family_accounts(session, duplicate)
    _event(session, duplicate, "merged", actor, now, note=f"case:{survivor.id}")
    await merge(session, survivor, duplicate, actor, now)
    audit.record(
        session,
        actor=actor,
        action="case.duplicate.merge",
        agency_id=duplicate.agency_id,
        target=f"case:{duplicate.id}",
        survivor=survivor.id,
    )
    for account, _ in told:
        await delivery.enqueue(
            session,
            account,
            "four_in_one.notify.duplicate_merged",
            source=f"case:{duplicate.id}",
            params={"number": duplicate.id, "survivor": survivor.id},
            dedup_key=f"case:{duplicate.id}:merged:a{account.id}",
        )
    await session.flush()
    return survivor


async def reject_duplicate(
    session: AsyncSession, duplicate: FourInOneCase, actor: str, now: datetime | None = None
) -> None:
    """A desk officer rejects a pending duplicate: the report closes and its chats are told so,
    in words that say nothing of any other case."""
    now = now or datetime.now(UTC)
    if duplicate.status != DUPLICATE:
        raise CaseRefused(CaseError.NOT_DUPLICATE)
    duplicate.status, duplicate.closed_at = REJECTED, now
    _event(session, duplicate, "rejected", actor, now, note=f"case:{duplicate.duplicate_of_id}")
    audit.record(
        session,
        actor=actor,
        action="case.duplicate.reject",
        agency_id=duplicate.agency_id,
        target=f"case:{duplicate.id}",
        survivor=duplicate.duplicate_of_id,
    )
    await _notify_family(
        session,
        duplicate,
        "four_in_one.notify.rejected",
        lambda _t, _trusted: {"number": duplicate.id},
        dedup=f"case:{duplicate.id}:rejected",
    )
    await session.flush()


# --- Documents and notifications ----------------------------------------------------------------


async def _family_accounts(
    session: AsyncSession, case: FourInOneCase
) -> list[tuple[Account, bool]]:
    """The chats following the case, each with whether it is the verified family (`trusted`):
    notes and the handover place go to the verified family only."""
    rows = await session.execute(
        select(Account, CaseContact.verified)
        .join(CaseContact, CaseContact.account_id == Account.id)
        .where(CaseContact.case_id == case.id)
        .order_by(Account.id)
    )
    found: dict[int, tuple[Account, bool]] = {}
    for account, verified in rows:
        known = found.get(account.id, (account, False))
        found[account.id] = (account, known[1] or bool(verified))
    return list(found.values())


def _translator(account: Account) -> Translator:
    # The same language `delivery.render` will use for the rest of the message.
    return translator(account.locale or DEFAULT_LOCALE)


async def _notify_family(
    session: AsyncSession,
    case: FourInOneCase,
    key: str,
    params_for: Callable[[Translator, bool], dict[str, object]],
    dedup: str | None = None,
    plain_key: str | None = None,
) -> int:
    """Record one notification per following chat. Words that depend on the language (document
    names, dates) are put in the reader's language now, as `render` only fills placeholders."""
    sent = 0
    for account, trusted_ in await _family_accounts(session, case):
        t = _translator(account)
        made = await delivery.enqueue(
            session,
            account,
            key if trusted_ else plain_key or key,
            source=f"case:{case.id}",
            params=params_for(t, trusted_),
            dedup_key=f"{dedup}:a{account.id}" if dedup else None,
        )
        sent += made is not None
    return sent


async def set_document(
    session: AsyncSession,
    case: FourInOneCase,
    kind: str,
    status: str,
    *,
    actor: str,
    roles: set[str],
    zone: str,
    note: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Move one document to a status; the family hears of it. False when nothing changed."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    if kind not in DOCUMENTS or status not in STATUSES:
        raise CaseRefused(CaseError.BAD_STATUS)
    if not may_update(roles, kind):
        raise CaseRefused(CaseError.NOT_OWNER)
    doc = next(d for d in case.documents if d.kind == kind)
    note = (note or "").strip()[:NOTE_LIMIT] or None
    if doc.status == status and (note is None or note == doc.note):
        return False
    before = doc.status
    doc.status, doc.updated_at, doc.updated_by = status, now, actor
    if note is not None:
        doc.note = note
    elif status != before:
        doc.note = None  # a note belongs to the status it explained
    if status in READY and doc.ready_at is None:
        doc.ready_at = now
    elif status not in READY:
        doc.ready_at = None
    _event(
        session, case, "status", actor, now,
        document_kind=kind, from_status=before, to_status=status, note=note,
    )  # fmt: skip
    await _notify_family(
        session,
        case,
        "four_in_one.notify.status",
        lambda t, trusted_: {
            "number": case.id,
            "doc": t(f"four_in_one.doc.{kind}"),
            "status": t(f"four_in_one.status.{status}"),
            "note": f"\n📝 {note}" if note and trusted_ else "",
        },
    )
    await session.flush()
    await _sync_status(session, case, actor, now, zone=zone)
    return True


async def _sync_status(
    session: AsyncSession, case: FourInOneCase, actor: str, now: datetime, zone: str | None = None
) -> None:
    """Derive the case's stage from its documents and tell the family when all four are ready."""
    statuses = [d.status for d in case.documents]
    all_ready = bool(statuses) and all(s in READY for s in statuses)
    if all(s == "handed_over" for s in statuses) and case.handed_over_at is None:
        case.handed_over_at = now
    if all_ready and case.status == "open":
        case.status = "ready"
        case.all_ready_at = now
        if case.handover_at is None:
            case.handover_at = case.deadline_at if case.deadline_at > now else None
        rounds = await session.scalar(
            select(func.count()).where(CaseEvent.case_id == case.id, CaseEvent.kind == "ready")
        )
        _event(session, case, "ready", actor, now)
        zone = zone or (await session.get(Agency, case.agency_id)).timezone  # type: ignore[union-attr]
        await _notify_all_ready(session, case, zone, f"case:{case.id}:ready{rounds}")
    elif not all_ready and case.status == "ready":
        case.status = "open"
        case.handed_over_at = None
    await session.flush()


async def _notify_all_ready(
    session: AsyncSession, case: FourInOneCase, zone: str, dedup: str
) -> None:
    when = case.handover_at
    await _notify_family(
        session,
        case,
        "four_in_one.notify.all_ready" if when else "four_in_one.notify.all_ready_call",
        lambda t, _trusted: {
            "number": case.id,
            "when": when_text(t, when, zone) if when else "",
            "place": case.handover_place or "-",
        },
        dedup=dedup,
        plain_key="four_in_one.notify.all_ready_plain",
    )


async def set_handover(
    session: AsyncSession,
    case: FourInOneCase,
    *,
    at: datetime | None,
    place: str | None,
    actor: str,
    zone: str,
    now: datetime | None = None,
) -> None:
    """Officers fix when and where the documents are handed over; a ready case's family is told."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    if at is not None and at < now:
        raise CaseRefused(CaseError.PAST)
    if at is not None:
        case.handover_at = at
    if place:
        case.handover_place = place.strip()[:NAME_LIMIT]
    _event(session, case, "handover", actor, now, note=case.handover_place)
    if case.status == "ready":
        stamp = int(now.timestamp())
        await _notify_all_ready(session, case, zone, f"case:{case.id}:handover{stamp}")
    await session.flush()


def late_handover(t: Translator, case: FourInOneCase, zone: str) -> str | None:
    """A warning when the planned handover falls after the third-night target (allowed)."""
    if case.handover_at is None or case.handover_at <= case.deadline_at:
        return None
    return t("four_in_one.after_target", target=when_text(t, case.deadline_at, zone))


async def confirm_receipt(
    session: AsyncSession, case: FourInOneCase, actor: str, now: datetime | None = None
) -> None:
    """The family (or an officer for them) says the four documents were received: everything is
    handed over, the case closes. Callers check who may say so (`trusted`, desk roles)."""
    now = now or datetime.now(UTC)
    if case.status == "closed":
        return
    if case.status != "ready":
        raise CaseRefused(CaseError.NOT_READY)
    for doc in case.documents:
        if doc.status != "handed_over":
            _event(
                session, case, "status", actor, now,
                document_kind=doc.kind, from_status=doc.status, to_status="handed_over",
            )  # fmt: skip
            doc.status, doc.updated_at, doc.updated_by = "handed_over", now, actor
    if case.handed_over_at is None:
        case.handed_over_at = now
    case.status, case.closed_at = "closed", now
    _event(session, case, "received", actor, now)
    await session.flush()


async def cancel_case(
    session: AsyncSession,
    case: FourInOneCase,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> None:
    """An officer closes a bogus or mistaken case. The family is not messaged, escalation and the
    report's overdue count skip it, and a later correct report of the death opens afresh."""
    now = now or datetime.now(UTC)
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    reason = " ".join(reason.split())[:NOTE_LIMIT]
    case.status, case.closed_at = "cancelled", now
    case.identity_key = f"cancelled:{case.id}"
    _event(session, case, "cancelled", actor, now, note=reason)
    audit.record(
        session,
        actor=actor,
        action="case.cancel",
        agency_id=case.agency_id,
        target=f"case:{case.id}",
        reason=reason,
    )
    await session.flush()


async def reissue_code(session: AsyncSession, case: FourInOneCase, actor: str) -> str:
    """A new tracking code for an officer-opened case (the paper one was lost or shared too
    widely): the old code stops working at once; chats already following keep following."""
    if case.status not in LIVE or case.opened_via != "officer":
        raise CaseRefused(CaseError.CLOSED)
    code = new_code()
    case.tracking_hash = hash_code(code)
    _event(session, case, "code", actor, datetime.now(UTC))
    audit.record(
        session, actor=actor, action="case.code", agency_id=case.agency_id, target=f"case:{case.id}"
    )
    await session.flush()
    return code


async def attach_candidate(session: AsyncSession, case: FourInOneCase, nip: str) -> Employee:
    """An officer names the roster entry of an unmatched case; `confirm_match` then decides."""
    if case.status not in LIVE:
        raise CaseRefused(CaseError.CLOSED)
    employee = await session.scalar(
        select(Employee).where(Employee.agency_id == case.agency_id, Employee.nip == clean_nip(nip))
    )
    if employee is None:
        raise CaseRefused(CaseError.NO_CANDIDATE)
    case.employee_id = employee.id
    await session.flush()
    return employee


# --- Escalation -----------------------------------------------------------------------------------


@dataclass
class Escalated:
    risk24: list[int] = field(default_factory=list)
    risk6: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    notifications: int = 0


async def _claim(session: AsyncSession, case_id: int, column: str, now: datetime) -> bool:
    """Fill an escalation column if still empty: exactly one process wins each (case, level)."""
    result = await session.execute(
        update(FourInOneCase)
        .where(FourInOneCase.id == case_id, getattr(FourInOneCase, column).is_(None))
        .values({column: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def _staff_accounts(session: AsyncSession, agency_id: int, roles: set[str]) -> list[Account]:
    rows = await session.scalars(
        select(Account)
        .join(Employee, Employee.id == Account.employee_id)
        .join(EmployeeRole, EmployeeRole.employee_id == Employee.id)
        .where(
            Employee.agency_id == agency_id,
            Employee.status == "active",
            EmployeeRole.role.in_(sorted(roles)),
            Account.reachable.is_(True),
        )
        .order_by(Account.id)
    )
    return list(dict.fromkeys(rows))


async def escalate_due(session: AsyncSession, agency: Agency, now: datetime) -> Escalated:
    """Warn officers, HR and the documents' owners of cases at risk of missing the third night.

    Idempotent and safe to run in any number of processes at once: each (case, level) is claimed
    by a conditional UPDATE before anyone is told, and the deliveries carry dedup keys.
    """
    done = Escalated()
    (_, wide), (_, narrow) = RISK_LEVELS
    due = FourInOneCase.deadline_at
    # Only cases with a level still unclaimed are read: a repeat pass costs one indexed query.
    pending = or_(
        and_(due <= now, FourInOneCase.overdue_at.is_(None)),
        and_(due > now, due <= now + narrow, FourInOneCase.risk6_at.is_(None)),
        and_(due > now + narrow, due <= now + wide, FourInOneCase.risk24_at.is_(None)),
    )
    cases = list(
        await session.scalars(
            select(FourInOneCase)
            .where(FourInOneCase.agency_id == agency.id, FourInOneCase.status == "open", pending)
            .order_by(FourInOneCase.deadline_at)
        )
    )
    staff: dict[frozenset[str], list[Account]] = {}
    for case in cases:
        waiting = [d.kind for d in case.documents if d.status not in READY]
        if not waiting:
            continue
        if now >= case.deadline_at:
            level = "overdue"
        else:
            # A case opened late may cross both thresholds at once: send the sharper warning only.
            crossed = [name for name, before in RISK_LEVELS if now >= case.deadline_at - before]
            level = crossed[-1]
            for name in crossed[:-1]:
                await _claim(session, case.id, f"{name}_at", now)
        if not await _claim(session, case.id, f"{level}_at", now):
            continue
        getattr(done, level).append(case.id)
        _event(session, case, "escalated", "system", now, note=level)
        roles = frozenset({*DESK_ROLES, *(OWNERS[k] for k in waiting)})
        if roles not in staff:
            staff[roles] = await _staff_accounts(session, agency.id, set(roles))
        for account in staff[roles]:
            t = _translator(account)
            made = await delivery.enqueue(
                session,
                account,
                f"four_in_one.notify.{level}",
                source=f"case:{case.id}",
                params={
                    "number": case.id,
                    "docs": ", ".join(t(f"four_in_one.doc.{k}") for k in waiting),
                    "when": when_text(t, case.deadline_at, agency.timezone),
                },
                dedup_key=f"case:{case.id}:{level}:a{account.id}",
            )
            done.notifications += made is not None
    await session.flush()
    return done


# --- The HR report --------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    month: str
    cases: int
    on_time: int  # all four handed over by the deadline
    overdue: int  # handed over late, or still not handed over after the deadline
    median_hours: dict[str, float | None]

    @property
    def on_time_share(self) -> float:
        return self.on_time / self.cases if self.cases else 0.0


def report_text(t: Translator, m: MonthFigures) -> str:
    """One month of the HR report, for the chat and the terminal alike."""
    line = t(
        "four_in_one.report.line",
        month=m.month,
        cases=m.cases,
        on_time=m.on_time,
        share=t.decimal(100 * m.on_time_share, 0),
        overdue=m.overdue,
    )
    medians = ", ".join(
        f"{t(f'four_in_one.doc_short.{k}')} {t.decimal(v, 1) if v is not None else '-'}"
        for k, v in m.median_hours.items()
    )
    return f"{line}\n{t('four_in_one.report.median', medians=medians)}"


async def report(
    session: AsyncSession, agency_id: int, now: datetime, month: str | None = None
) -> list[MonthFigures]:
    """Cases per month (opened, agency time), on-time share and overdue count are SQL aggregates;
    the medians are taken over one SQL-selected duration list per document, as SQLite has no
    percentile function."""
    live = (
        FourInOneCase.agency_id == agency_id,
        FourInOneCase.status.not_in((*NOT_CASES, "cancelled")),
    )
    month_filter = (FourInOneCase.opened_month == month,) if month else ()
    on_time = sql_case(
        (
            (FourInOneCase.handed_over_at.is_not(None))
            & (FourInOneCase.handed_over_at <= FourInOneCase.deadline_at),
            1,
        ),
        else_=0,
    )
    late = sql_case(
        (FourInOneCase.handed_over_at > FourInOneCase.deadline_at, 1),
        ((FourInOneCase.handed_over_at.is_(None)) & (FourInOneCase.deadline_at < now), 1),
        else_=0,
    )
    rows = await session.execute(
        select(
            FourInOneCase.opened_month,
            func.count(),
            func.coalesce(func.sum(on_time), 0),
            func.coalesce(func.sum(late), 0),
        )
        .where(*live, *month_filter)
        .group_by(FourInOneCase.opened_month)
        .order_by(FourInOneCase.opened_month)
    )
    figures = {
        m: MonthFigures(m, int(n), int(ok), int(bad), {k: None for k in DOCUMENTS})
        for m, n, ok, bad in rows
    }
    durations = await session.execute(
        select(
            FourInOneCase.opened_month,
            CaseDocument.kind,
            FourInOneCase.created_at,
            CaseDocument.ready_at,
        )
        .join(CaseDocument, CaseDocument.case_id == FourInOneCase.id)
        .where(*live, *month_filter, CaseDocument.ready_at.is_not(None))
    )
    hours: dict[tuple[str, str], list[float]] = {}
    for m, kind, opened, ready in durations:
        hours.setdefault((m, kind), []).append((ready - opened).total_seconds() / 3600)
    for (m, kind), values in hours.items():
        figures[m].median_hours[kind] = statistics.median(values)
    return list(figures.values())
