"""The 4-in-1 rules every part of the service shares: the documents and who issues them, which
stages are live, the limits on what people type, and the refusals."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from enum import StrEnum

from bot.services.refusal import Refused
from storage.statuses import CaseStatus, DocumentStatus

DOCUMENTS = ("taspen_book", "death_certificate", "family_card", "id_card")
# Who issues each document; officers and HR may update any of them.
OWNERS = {
    "taspen_book": "taspen",
    "death_certificate": "dukcapil",
    "family_card": "dukcapil",
    "id_card": "dukcapil",
}
STATUSES = tuple(DocumentStatus)  # in the order a document progresses
READY = (DocumentStatus.READY, DocumentStatus.HANDED_OVER)
RELATIONS = ("spouse", "child", "parent", "other")
DESK_ROLES = ("officer", "hr")  # see and update every case of their agency
STAFF_ROLES = ("officer", "hr", "taspen", "dukcapil")
LIVE = (CaseStatus.OPEN, CaseStatus.READY)
DUPLICATE, REJECTED, MERGED = CaseStatus.DUPLICATE, CaseStatus.REJECTED, CaseStatus.MERGED
# Reports that are not (or no longer) a case of their own: no documents move, no match, no merge.
NOT_CASES = (MERGED, DUPLICATE, REJECTED)
# Where a contact row's details came from (CaseContact.source).
BY_OFFICER, BY_REPORTER, FOLLOWER = "officer", "reporter", "follower"

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


# A death whose hour nobody remembers is stored at the first minute of its day: the earliest
# plausible moment is never "in the future", and only the day decides the deadline.
UNKNOWN_TIME = time(0, 0)


def may_update(roles: set[str], kind: str) -> bool:
    return bool(roles & set(DESK_ROLES)) or OWNERS[kind] in roles


# A clock a little fast on the family's phone or the operator's machine is not a death to come.
FUTURE_SLACK = timedelta(minutes=5)


def death_in_future(died_at: datetime, now: datetime) -> bool:
    """No death is reported ahead of time: the chat and the terminal both refuse one."""
    return died_at > now + FUTURE_SLACK
