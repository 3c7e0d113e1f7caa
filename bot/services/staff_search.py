"""Finding employees by name or NIP: one rule for the chat's account desk and the console."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_

from storage.models import Employee

MAX_QUERY = 100
MIN_NIP_START = 4  # a year of birth
NIP_LENGTH = 18


def matching(agency_id: int, text: str) -> ColumnElement[bool]:
    """The agency's employees whose NIP is or starts with `text` (spaces ignored, 4 digits at
    least) or whose name contains it."""
    query = text.strip()[:MAX_QUERY]
    digits = query.replace(" ", "")
    # LIKE wildcards typed by the user are dropped: a search is for text, not patterns, and a
    # query that was nothing but wildcards names nobody (not everybody).
    words = query.replace("%", "").replace("_", "").strip().lower()
    # This exact shape, lower(name) LIKE, is what PostgreSQL's trigram index on lower(name)
    # serves (migration 0018); the OR with the NIP becomes a BitmapOr with its unique index.
    name = func.lower(Employee.name).like(f"%{words}%") if words else false()
    nip = Employee.nip == digits
    if digits.isdigit() and MIN_NIP_START <= len(digits) < NIP_LENGTH:
        # An officer types the start of a NIP as they read it off a card ("1984 1205": born
        # December 1984): the NIP's own digits say birth date first, so a start narrows well.
        nip = Employee.nip.startswith(digits)
    return and_(Employee.agency_id == agency_id, or_(nip, name))
