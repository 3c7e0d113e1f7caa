"""The stages a stored row moves through, one enum per column (a leaf: imports nothing of ours).

Each is a `StrEnum`, so a member equals the string stored in the database and code that still
compares with plain strings keeps working. `storage/models.py` maps them with `status_column`,
which keeps the column a plain VARCHAR without a CHECK constraint: the schema does not change.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class CaseStatus(StrEnum):
    """A 4-in-1 case; DUPLICATE and REJECTED are reports awaiting (or refused by) the desk."""

    OPEN = "open"
    READY = "ready"  # all four documents ready, awaiting the handover
    CLOSED = "closed"  # the family confirmed receipt
    MERGED = "merged"  # folded into another case of the same death
    CANCELLED = "cancelled"  # an officer closed a bogus or mistaken case
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class DocumentStatus(StrEnum):
    """One of a case's four documents, in the order it progresses."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    READY = "ready"
    HANDED_OVER = "handed_over"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent (or to be retried after not_before)
    SENDING = "sending"  # claimed by a drain; the request may be in flight
    SENT = "sent"  # the platform accepted it
    DELIVERED = "delivered"  # the platform says it reached the device (WhatsApp)
    READ = "read"  # the platform says it was read (WhatsApp)
    FAILED = "failed"  # given up after retries, or rejected for good
    UNREACHABLE = "unreachable"  # the user blocked the bot or left the platform
    UNCERTAIN = "uncertain"  # in flight when a process died: its fate cannot be known
    CANCELLED = "cancelled"  # HR cancelled the broadcast before it was sent


class BroadcastStatus(StrEnum):
    """scheduled -> sending -> done; or cancelled."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class PeriodState(StrEnum):
    """A rating quarter: open for ratings, closed, then its standings published."""

    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


def status_column(enum: type[StrEnum], length: int = 16) -> Enum:
    """The column type of a status: the enum's values in a VARCHAR of `length`, no CHECK
    constraint and no native enum type, so the migrations' plain strings still describe it."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


class DataRequestStatus(StrEnum):
    """A user's request to correct or delete their personal data (UU PDP), as HR answers it."""

    OPEN = "open"
    DONE = "done"
    REFUSED = "refused"
