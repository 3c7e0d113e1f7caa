"""The schema: agencies, units, employees, chat accounts, roles, link codes and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sa_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.statuses import (
    BroadcastStatus,
    CaseStatus,
    DataRequestStatus,
    DeliveryStatus,
    DocumentStatus,
    PeriodState,
    status_column,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which drops tzinfo) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Jakarta")


class Unit(Base):
    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_unit_agency_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))


# Indexes that only migrations make, and only where the database allows: the roster's trigram
# index needs pg_trgm, which a production role may not be allowed to create (migration 0018).
# Comparing models with the database leaves them out, present or not.
NAME_TRIGRAM_INDEX = "ix_employee_name_trgm"
MIGRATION_ONLY_INDEXES = frozenset({NAME_TRIGRAM_INDEX})


def compared(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's include_object: everything but MIGRATION_ONLY_INDEXES."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


class Employee(Base):
    __tablename__ = "employee"
    __table_args__ = (
        UniqueConstraint("agency_id", "nip", name="uq_employee_agency_nip"),
        Index("ix_employee_agency_phone", "agency_id", "phone"),
        Index("ix_employee_supervisor", "supervisor_id"),
        Index("ix_employee_agency_name", "agency_id", "name"),  # the console's roster order
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    nip: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200), default="")
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    supervisor_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # PNS | PPPK
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | deceased | left
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(lazy="joined")
    roles: Mapped[list[EmployeeRole]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="employee"
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class EmployeeRole(Base):
    __tablename__ = "employee_role"

    employee_id: Mapped[int] = mapped_column(
        ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)  # hr | officer
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(back_populates="roles")


class Account(Base):
    """A chat identity on one channel; linked to at most one employee, one per channel."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("channel", "user_ref", name="uq_account_channel_user"),
        UniqueConstraint("employee_id", "channel", name="uq_account_employee_channel"),
        Index("ix_account_channel_bsuid", "channel", "bsuid"),
        Index("ix_account_channel_wa_id", "channel", "wa_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    user_ref: Mapped[str] = mapped_column(String(64))
    chat_ref: Mapped[str] = mapped_column(String(64))
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), nullable=True
    )
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    reachable: Mapped[bool] = mapped_column(default=True)
    linked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_inbound_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # WhatsApp only: the ids a user writes from, as the webhook last carried them (a message may
    # carry either or both). user_ref stays the key the account was created with, so link,
    # language and conversation state survive a change of shape, number or user id.
    bsuid: Mapped[str | None] = mapped_column(String(64), nullable=True)  # business-scoped id
    wa_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # phone, digits only
    # The employee this account was linked to when WhatsApp reported that the user's identity
    # changed (new device or reinstall): unlinked until the user confirms again. No foreign key:
    # adding one would make SQLite rebuild this table (see migration 0010).
    reconfirm_employee_id: Mapped[int | None] = mapped_column(nullable=True)
    # The privacy notice version this account was shown, and when (UU PDP: informed first).
    notice_version: Mapped[int | None] = mapped_column(nullable=True)
    notice_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)

    employee: Mapped[Employee | None] = relationship(lazy="joined")


class LinkCode(Base):
    """A single-use code HR hands an employee to link any chat account; only its hash is kept."""

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_agency_at", "agency_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="SET NULL"), nullable=True
    )
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidanceRequirement(Base):
    """HR asks the agency's ASN to confirm a guidance topic; whichever version is current counts."""

    __tablename__ = "guidance_requirement"
    __table_args__ = (
        UniqueConstraint("agency_id", "topic", name="uq_guidance_requirement_agency_topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
    changed_by: Mapped[str] = mapped_column(String(100), default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class GuidanceAck(Base):
    """One employee confirmed having read one version of a guidance topic, at a time."""

    __tablename__ = "guidance_ack"
    __table_args__ = (
        UniqueConstraint(
            "employee_id", "topic", "version", name="uq_guidance_ack_employee_topic_version"
        ),
        Index("ix_guidance_ack_agency_topic_version", "agency_id", "topic", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    acked_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Peer rating and standings (issue 3) -------------------------------------------------------


class RatingScheme(Base):
    """Per-agency overrides of the reward scheme; missing keys fall back to the shipped defaults."""

    __tablename__ = "rating_scheme"

    agency_id: Mapped[int] = mapped_column(
        ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RatingPeriod(Base):
    """An assessment quarter; semesters and the year are derived from quarters."""

    __tablename__ = "rating_period"
    __table_args__ = (
        UniqueConstraint("agency_id", "year", "quarter", name="uq_rating_period_agency_quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    year: Mapped[int]
    quarter: Mapped[int]  # 1..4
    state: Mapped[PeriodState] = mapped_column(status_column(PeriodState), default=PeriodState.OPEN)
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]  # planned close; ratings stop at this time even if HR forgets
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Rating(Base):
    """One rater's rating of one colleague in one quarter (revisable until the quarter closes)."""

    __tablename__ = "rating"
    __table_args__ = (
        UniqueConstraint("period_id", "rater_id", "ratee_id", name="uq_rating_once"),
        # Covering for the standings: closing a quarter reads its ratings from this index alone.
        Index(
            "ix_rating_period_ratee_scores",
            "period_id",
            "ratee_id",
            "relation",
            "score",
            "updated_at",
        ),
        Index("ix_rating_period_rater", "period_id", "rater_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("rating_period.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    ratee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    relation: Mapped[str] = mapped_column(String(16))  # the rater is the ratee's: superior|peer|...
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)  # criterion -> 1..5
    score: Mapped[float]  # mean over criteria, kept so standings aggregate one column in SQL
    comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Standing(Base):
    """A ratee's aggregate for one quarter, written by SQL when the quarter closes or publishes."""

    __tablename__ = "standing"
    __table_args__ = (
        UniqueConstraint("period_id", "employee_id", name="uq_standing_period_employee"),
        Index("ix_standing_employee", "employee_id"),
        # "rank N of M": M is an index-only max() over each of these.
        Index("ix_standing_period_rank", "period_id", "rank_agency"),
        Index("ix_standing_period_unit_rank", "period_id", "unit_id", "rank_unit"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("rating_period.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    score: Mapped[float | None] = mapped_column(nullable=True)
    rater_count: Mapped[int]
    superior_mean: Mapped[float | None] = mapped_column(nullable=True)
    superior_count: Mapped[int] = mapped_column(default=0)
    peer_mean: Mapped[float | None] = mapped_column(nullable=True)
    peer_count: Mapped[int] = mapped_column(default=0)
    subordinate_mean: Mapped[float | None] = mapped_column(nullable=True)
    subordinate_count: Mapped[int] = mapped_column(default=0)
    eligible: Mapped[bool]
    rank_agency: Mapped[int | None] = mapped_column(nullable=True)
    rank_unit: Mapped[int | None] = mapped_column(nullable=True)
    last_rated_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Award(Base):
    """Quarter winners, semester shortlists and yearly winners, recorded on publish."""

    __tablename__ = "award"
    __table_args__ = (
        UniqueConstraint("agency_id", "kind", "year", "part", "employee_id", name="uq_award_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # quarter | shortlist | year
    year: Mapped[int]
    part: Mapped[int]  # quarter 1..4, semester 1..2, or 0 for the year
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    rank: Mapped[int]
    score: Mapped[float]
    rater_count: Mapped[int]
    prize: Mapped[str] = mapped_column(String(100), default="")
    prize_amount: Mapped[int] = mapped_column(default=0)  # rupiah; 0 for non-cash prizes
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One outbound message to one account that is not a direct reply.

    Written before anything is sent (broadcasts, reminders, notifications); the text is rendered
    at send time from `message_key` and `params` in the recipient's language.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_delivery_dedup_key"),
        # One row per recipient of a broadcast: a repeated release cannot add a second message.
        UniqueConstraint("broadcast_id", "account_id", name="uq_delivery_broadcast_account"),
        Index("ix_delivery_status_due", "status", "priority", "not_before"),
        Index("ix_delivery_source", "source"),
        Index("ix_delivery_platform_id", "platform_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # broadcast | notification | reminder
    source: Mapped[str] = mapped_column(String(64))  # e.g. "broadcast:12", "case:7"
    message_key: Mapped[str] = mapped_column(String(96))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # A DeliveryStatus, kept a plain string column: broadcast reports union it with outcome words
    # that are not statuses ("no_account", "blocked"), which an Enum column would refuse to load.
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    platform_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Broadcast rows carry no text of their own: it is read once per batch from the broadcast.
    broadcast_id: Mapped[int | None] = mapped_column(
        ForeignKey("broadcast.id", ondelete="CASCADE"), nullable=True
    )
    # Lower goes first: a 4-in-1 notice never waits behind a 100,000-recipient broadcast.
    priority: Mapped[int] = mapped_column(default=0)
    # When the recipient tapped "I have read this" on a broadcast that asks for it (not a read
    # receipt: WhatsApp's "read" status only says the message was opened).
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Broadcast(Base):
    """An HR message to an audience; its recipients become delivery rows when it is released."""

    __tablename__ = "broadcast"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_broadcast_dedup_key"),
        Index("ix_broadcast_agency_status", "agency_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="broadcast")  # broadcast | reminder
    text: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    message_key: Mapped[str | None] = mapped_column(String(96), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachment_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    attachment_type: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[BroadcastStatus] = mapped_column(
        status_column(BroadcastStatus), default=BroadcastStatus.SCHEDULED
    )
    send_at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)
    created_by: Mapped[str] = mapped_column(String(100))
    report_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True
    )
    progress_platform_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    progress_at: Mapped[datetime | None] = mapped_column(nullable=True)
    dedup_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # HR asks recipients to confirm they read it: the message carries an "I have read this" button.
    ack_requested: Mapped[bool] = mapped_column(default=False)
    # Hours after release to remind, once, those who have not confirmed (None: no reminder).
    ack_remind_hours: Mapped[int | None] = mapped_column(nullable=True)
    ack_reminded_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BroadcastTally(Base):
    """What became of a broadcast's deliveries that retention removed: one count per status and
    reason, so its report gives the same totals after the rows are gone."""

    __tablename__ = "broadcast_tally"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "status", "reason", name="uq_broadcast_tally_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcast.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # a DeliveryStatus, like Delivery.status
    reason: Mapped[str] = mapped_column(String(200), default="")  # Delivery.error, "" for none
    count: Mapped[int]


class Reminder(Base):
    """A recurring HR reminder; each occurrence becomes one broadcast (deduplicated by key)."""

    __tablename__ = "reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(16))  # before_close | weekly
    days_before: Mapped[int] = mapped_column(default=3)  # before_close
    weekday: Mapped[int] = mapped_column(default=0)  # weekly: 0 = Monday
    at_time: Mapped[str] = mapped_column(String(5), default="08:00")  # local HH:MM
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str | None] = mapped_column(String(4000), nullable=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobRun(Base):
    """A periodic job's claimed time slot: the unique key makes each slot run in one process."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("name", "slot", name="uq_job_run_name_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slot: Mapped[int] = mapped_column(BigInteger)
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- 4-in-1 for bereaved families (issue 4) ----------------------------------------------------


class FourInOneCase(Base):
    """A family's case: four documents owed to them by the third night after the death.

    `identity_key` names the deceased ("emp:<id>" once matched to the roster, else the normalised
    name, unit or pensioner number and date of death); at most one live case holds each key, so a
    second report of the same death is merged into the first.
    """

    __tablename__ = "four_in_one_case"
    __table_args__ = (
        Index("ix_four_in_one_case_agency_deadline", "agency_id", "status", "deadline_at"),
        Index("ix_four_in_one_case_agency_month", "agency_id", "opened_month"),
        Index(
            "uq_four_in_one_case_live_identity",
            "agency_id",
            "identity_key",
            unique=True,
            sqlite_where=sa_text("status != 'merged'"),
            postgresql_where=sa_text("status != 'merged'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    tracking_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[CaseStatus] = mapped_column(status_column(CaseStatus), default=CaseStatus.OPEN)
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("four_in_one_case.id", ondelete="SET NULL"), nullable=True
    )
    # A pending duplicate's suspected survivor: staff only, never shown to the reporter. No
    # foreign key: adding one would make SQLite rebuild this table (see migration 0009).
    duplicate_of_id: Mapped[int | None] = mapped_column(nullable=True)
    identity_key: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), nullable=True
    )
    match_confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    match_confirmed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deceased_name: Mapped[str] = mapped_column(String(200))
    deceased_nip: Mapped[str | None] = mapped_column(String(18), nullable=True)
    deceased_unit: Mapped[str | None] = mapped_column(String(200), nullable=True)
    pensioner_number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    died_at: Mapped[datetime]
    deadline_at: Mapped[datetime]
    opened_month: Mapped[str] = mapped_column(String(7))  # YYYY-MM in the agency's time zone
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_via: Mapped[str] = mapped_column(String(16))  # family | officer
    handover_at: Mapped[datetime | None] = mapped_column(nullable=True)
    handover_place: Mapped[str | None] = mapped_column(String(200), nullable=True)
    all_ready_at: Mapped[datetime | None] = mapped_column(nullable=True)
    handed_over_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Each escalation fires once per case: a process claims it by filling its column.
    risk24_at: Mapped[datetime | None] = mapped_column(nullable=True)
    risk6_at: Mapped[datetime | None] = mapped_column(nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The family's satisfaction (SKM scale 1-4), asked once the day after they confirmed receipt.
    skm_asked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    skm_score: Mapped[int | None] = mapped_column(nullable=True)
    skm_comment: Mapped[str | None] = mapped_column(String(500), nullable=True)
    skm_answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When retention removed the family's contacts and every free text of a closed case; the
    # dates and documents the SLA report counts stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(nullable=True)

    documents: Mapped[list[CaseDocument]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseDocument.position"
    )
    contacts: Mapped[list[CaseContact]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", order_by="CaseContact.id"
    )


class CaseDocument(Base):
    """One of the four documents of a case: who owns it and how far it has come."""

    __tablename__ = "case_document"
    __table_args__ = (UniqueConstraint("case_id", "kind", name="uq_case_document_case_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("four_in_one_case.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(
        String(24)
    )  # taspen_book|death_certificate|family_card|id_card
    position: Mapped[int]
    owner_role: Mapped[str] = mapped_column(String(16))
    status: Mapped[DocumentStatus] = mapped_column(
        status_column(DocumentStatus), default=DocumentStatus.PENDING
    )
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    ready_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(100), default="")


class CaseContact(Base):
    """A family member who reported or follows the case; notified when linked to a chat."""

    __tablename__ = "case_contact"
    __table_args__ = (Index("ix_case_contact_account", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("four_in_one_case.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True
    )
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    relation: Mapped[str | None] = mapped_column(String(16), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    # Who supplied the details: "officer" (recorded by staff), "reporter" (the person reporting,
    # about themselves), "follower" (a chat following by code or merge, no details).
    source: Mapped[str] = mapped_column(String(16), default="follower", server_default="follower")
    # The chat of this row is the verified family: notes, handover place, confirming receipt.
    verified: Mapped[bool] = mapped_column(default=False, server_default=sa_text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseEvent(Base):
    """The case's history: each status change, with when and by whom."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("four_in_one_case.id", ondelete="CASCADE"))
    document_kind: Mapped[str | None] = mapped_column(String(24), nullable=True)
    kind: Mapped[str] = mapped_column(String(24))  # opened|status|merged|matched|escalated|...
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    note: Mapped[str | None] = mapped_column(String(300), nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseQuestion(Base):
    """A family's question to the 4-in-1 desk and the officer's answer, kept with the case.

    Personal words of a grieving family: subject to retention (`created_at`); open while
    `answered_at` is empty."""

    __tablename__ = "case_question"
    __table_args__ = (Index("ix_case_question_agency_open", "agency_id", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(
        ForeignKey("four_in_one_case.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True
    )
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundEvent(Base):
    """A platform message id seen once: the insert is the atomic de-duplication of webhooks.

    Shared by every webhook process through the database; a redelivered wamid (even with other
    bytes) hits the primary key and is skipped.
    """

    __tablename__ = "inbound_event"

    event_id: Mapped[str] = mapped_column(String(160), primary_key=True)  # "<channel>:<id>"
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookDeadLetter(Base):
    """A webhook body we accepted (signature valid) but could not read: kept for inspection."""

    __tablename__ = "webhook_dead_letter"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # for reading: invalid UTF-8 shown as U+FFFD
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # the exact bytes received
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Fed through the webhook's processing again (`abdi whatsapp dead-letters --replay`): when,
    # and what came of it.
    replayed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    replay_note: Mapped[str | None] = mapped_column(String(200), nullable=True)


class EarlyStatus(Base):
    """A platform status callback that arrived before its delivery recorded the message id."""

    __tablename__ = "early_status"

    platform_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DataRequest(Base):
    """A user's request to correct or delete their personal data (UU PDP), answered by HR."""

    __tablename__ = "data_request"
    __table_args__ = (Index("ix_data_request_agency_status_due", "agency_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    # Kept when the requester's account is deleted (the request and its answer are the record).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True
    )
    employee_id: Mapped[int | None] = mapped_column(
        ForeignKey("employee.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # correction | deletion
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[DataRequestStatus] = mapped_column(
        status_column(DataRequestStatus), default=DataRequestStatus.OPEN
    )
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    answer: Mapped[str | None] = mapped_column(String(500), nullable=True)


class LoginCode(Base):
    """A one-time code that lets an HR officer into the web console; sent to their linked chat
    account, only its hash kept. Expires in minutes; retention removes it after use or expiry."""

    __tablename__ = "login_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebSession(Base):
    """A signed-in web console session; the browser holds the token, only its hash is kept here,
    so several `abdi serve` processes share sessions and a leaked table row is not a login."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employee.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8), default="id")
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
