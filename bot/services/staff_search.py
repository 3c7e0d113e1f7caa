"""Finding employees by name or NIP: one rule for the chat's account desk and the console."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_

from storage.models import Employee

MAX_QUERY = 100


def matching(agency_id: int, text: str) -> ColumnElement[bool]:
    """The agency's employees whose NIP is `text` (spaces ignored) or whose name contains it."""
    query = text.strip()[:MAX_QUERY]
    digits = query.replace(" ", "")
    # LIKE wildcards typed by the user are dropped: a search is for text, not patterns, and a
    # query that was nothing but wildcards names nobody (not everybody).
    words = query.replace("%", "").replace("_", "").strip().lower()
    # This exact shape, lower(name) LIKE, is what PostgreSQL's trigram index on lower(name)
    # serves (migration 0018); the OR with the NIP becomes a BitmapOr with its unique index.
    name = func.lower(Employee.name).like(f"%{words}%") if words else false()
    return and_(Employee.agency_id == agency_id, or_(Employee.nip == digits, name))
