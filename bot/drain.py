"""The drain: claims due delivery rows and sends them through each channel's sender, under limits.

One pass (`Drain.step`) recovers claims of dead processes, claims a batch (PostgreSQL: FOR UPDATE
SKIP LOCKED, so several workers never take the same row; SQLite: one conditional UPDATE), and
sends it in waves. A row is marked `sending` only once its limiter slot is booked (while the slot
comes due: the database round trip never delays the send), and each message leaves at its own
slot, never more than the rate in any second. A crash so leaves at most the waves booked or on
the wire (MAX_FLIGHTS waves, about DELIVERY_CONCURRENCY requests) per process in an unknowable
state: those rows are recovered after the lease as `uncertain` (listed for HR) or resent, as
configured. Status changes are written per wave, one statement per kind of change.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, Update, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import raiseload

from bot import metrics
from bot.config import Settings
from bot.delivery import Status, localized, render
from bot.i18n import Translator, translator
from bot.messages import Attachment, Choice, Reply
from bot.outage import is_outage
from bot.senders import ChannelSender, Outcome, SendResult
from bot.services.broadcasting import acks
from bot.services.rate_limit import (
    Limiter,
    MemoryLimiter,
    SendWindow,
    reserve_slots,
    sleep_until,
)
from storage import db
from storage.models import Account, Broadcast, Delivery, utcnow

log = logging.getLogger("abdi.drain")
MAX_BACKOFF = 300.0  # seconds
IN_FLIGHT_LOST = "in flight when a process stopped"
MAX_FLIGHTS = 3
# Messages of a wave whose slots fall within this many seconds go out together: at 1,000/s ten
# per timer instead of one, and at most that many above the rate in any one second.
TICK = 0.01


def worker_name() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def compose(
    delivery: Delivery, account: Account, broadcast: Broadcast | None, default_locale: str = "id"
) -> Reply:
    """The message as the recipient reads it: a broadcast's own text, else the catalog message."""
    if broadcast is None:
        return render(delivery, account, default_locale)
    return broadcast_reply(broadcast, translator(account.locale or default_locale), delivery.id)


def broadcast_reply(broadcast: Broadcast, t: Translator, delivery_id: int) -> Reply:
    """A broadcast as one recipient gets it (also HR's preview, before anything is recorded)."""
    if broadcast.text is not None:
        text = t("broadcast.message", text=broadcast.text)
    else:
        text = t(broadcast.message_key or "broadcast.message", **localized(broadcast.params, t))
    attachment = None
    if broadcast.attachment is not None:
        attachment = Attachment(
            broadcast.attachment_name or "file",
            broadcast.attachment,
            broadcast.attachment_type or "application/octet-stream",
        )
    choices = []
    if broadcast.ack_requested:  # the button names this delivery row; the handler re-checks it
        choices.append(Choice(acks.payload(delivery_id), t("ack.button")))
    return Reply(text, choices, attachment=attachment)


def wave_size(rate: float, concurrency: int) -> int:
    """Messages one drain sends together, once the last of their limiter slots is granted.

    At a low rate a big wave would hold its first rows claimed for seconds: each wave is about a
    tenth of a second of sending. The platform may so see up to one wave per drain above the rate
    in a second."""
    return max(1, min(concurrency, int(rate / 10)))


@functools.cache
def _update_by_id(keys: tuple[str, ...]) -> Update:
    """UPDATE delivery SET <keys but id> WHERE id = :b_id, for an executemany of many rows."""
    table = Delivery.__table__
    assert isinstance(table, Table)
    return (
        update(table)
        .where(table.c.id == bindparam("b_id", type_=table.c.id.type))
        .values({k: bindparam(f"b_{k}", type_=table.c[k].type) for k in keys if k != "id"})
    )


def _bound(row: dict[str, Any]) -> dict[str, Any]:
    return {f"b_{k}": v for k, v in row.items()}


def _backoff(attempts: int) -> float:
    return min(MAX_BACKOFF, float(2 ** max(0, attempts - 1)))


@dataclass
class StepReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    recovered: int = 0


@dataclass
class Batch:
    """One pass's claimed rows still to send, and what the pass has done so far."""

    report: StepReport
    pending: list[tuple[Delivery, Account]]


class Drain:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, ChannelSender],
        settings: Settings,
        *,
        limiter: Limiter | None = None,
        worker: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self._down = False  # a dependency was down at the last step: said once, not per step
        self.senders = {str(channel): sender for channel, sender in senders.items()}
        self.settings = settings
        self.limiter = limiter or MemoryLimiter()
        self.worker = worker or worker_name()
        self.clock = clock
        self.lease = timedelta(seconds=settings.delivery_lease_seconds)
        self._broadcasts: dict[int, Broadcast] = {}
        # A broadcast without a confirm button reads the same to everyone of one language.
        self._composed: dict[tuple[int, str], Reply] = {}
        self._windows: dict[str, SendWindow] = {}
        self._paused: dict[str, float] = {}  # channel -> loop time its last 429 pause ends

    # -- claiming -------------------------------------------------------------------------
    async def recover(self, now: datetime) -> int:
        """Rows left `sending` by a process that died: uncertain (or pending, if so configured)."""
        resend = self.settings.delivery_uncertain_policy == "resend"
        values: dict[str, Any] = {"status": Status.UNCERTAIN.value, "error": IN_FLIGHT_LOST}
        if resend:
            values = {"status": Status.PENDING.value, "claimed_by": None, "claimed_at": None}
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(Delivery)
                .where(
                    Delivery.status == Status.SENDING.value, Delivery.claimed_at < now - self.lease
                )
                .values(updated_at=now, **values)
                .execution_options(synchronize_session=False)
            )
        count = db.changed_rows(result)
        if count:
            log.warning("recovered in-flight deliveries", extra={"count": count, "resend": resend})
        return count

    def _batch(self) -> int:
        """Rows per claim: no more than can be sent in half a lease, so claims do not expire
        while they wait for the limiter (another worker would take them over)."""
        slowest = min((s.limits.per_second for s in self.senders.values()), default=1.0)
        half_lease = int(slowest * self.lease.total_seconds() / 2)
        return max(1, min(self.settings.delivery_batch, half_lease))

    def _reachable_here(self) -> list[Any]:
        """Accounts this process can deliver to: every account of a channel it has a sender for,
        except where the sender serves only some accounts (a terminal chat serves the person at
        that terminal: other console accounts' rows wait for their own terminal)."""
        open_channels = [c for c, s in self.senders.items() if s.serves is None]
        conditions: list[Any] = [Account.channel.in_(open_channels)]
        for channel, sender in self.senders.items():
            serves = sender.serves
            if serves is not None:
                conditions.append(
                    and_(Account.channel == channel, Account.user_ref.in_(sorted(serves)))
                )
        return conditions

    async def claim(self, now: datetime) -> list[int]:
        due = (
            select(Delivery.id)
            .join(Account, Account.id == Delivery.account_id)
            .where(
                Delivery.status == Status.PENDING.value,
                Delivery.not_before <= now,
                or_(*self._reachable_here()),
                or_(Delivery.claimed_at.is_(None), Delivery.claimed_at < now - self.lease),
            )
            .order_by(Delivery.priority, Delivery.id)
            .limit(self._batch())
            .with_for_update(skip_locked=True, of=Delivery)
            # A CTE, not "IN (subquery)": PostgreSQL may run a LIMIT … SKIP LOCKED subquery more
            # than once per UPDATE and claim far more rows than the batch; a CTE runs once.
            .cte("due")
        )
        async with self.sessions() as session, session.begin():
            rows = await session.execute(
                update(Delivery)
                .where(Delivery.id == due.c.id, Delivery.status == "pending")
                .values(claimed_by=self.worker, claimed_at=now)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(rows.scalars())

    async def release(self, ids: list[int]) -> None:
        """Give back claimed rows that were not started (graceful stop)."""
        if not ids:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == Status.PENDING.value,
                    Delivery.claimed_by == self.worker,
                )
                .values(claimed_by=None, claimed_at=None)
                .execution_options(synchronize_session=False)
            )

    async def _load(self, ids: list[int]) -> list[tuple[Delivery, Account]]:
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(Delivery, Account)
                    .join(Account, Account.id == Delivery.account_id)
                    # Senders need the account, not its employee (joined by default).
                    .options(raiseload(Account.employee))
                    .where(Delivery.id.in_(ids))
                    .order_by(Delivery.priority, Delivery.id)
                )
            ).all()
            wanted = {d.broadcast_id for d, _ in rows if d.broadcast_id is not None}
            missing = wanted - set(self._broadcasts)
            if missing:
                if len(self._broadcasts) > 64:
                    self._broadcasts.clear()
                    self._composed.clear()
                for b in await session.scalars(select(Broadcast).where(Broadcast.id.in_(missing))):
                    self._broadcasts[b.id] = b
            return [(d, a) for d, a in rows]

    # -- sending --------------------------------------------------------------------------
    async def _start(self, ids: list[int], now: datetime) -> set[int]:
        """Mark rows in flight, only those still pending (a cancel may have come in between)."""
        async with self.sessions() as session, session.begin():
            rows = await session.execute(
                update(Delivery)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == Status.PENDING.value,
                    Delivery.claimed_by == self.worker,
                )
                .values(
                    status=Status.SENDING.value,
                    claimed_at=now,
                    attempts=Delivery.attempts + 1,
                    updated_at=now,
                )
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
            return set(rows.scalars())

    def _compose(self, delivery: Delivery, account: Account) -> Reply:
        broadcast = self._broadcasts.get(delivery.broadcast_id or -1)
        locale = self.settings.default_locale
        if broadcast is None or broadcast.ack_requested:
            return compose(delivery, account, broadcast, locale)
        key = (broadcast.id, account.locale or locale)
        reply = self._composed.get(key)
        if reply is None:
            reply = self._composed[key] = compose(delivery, account, broadcast, locale)
        return reply

    async def _send(self, delivery: Delivery, account: Account) -> SendResult:
        sender = self.senders[account.channel]
        try:
            result = await sender.send_outbound(account, delivery, self._compose(delivery, account))
        except Exception as exc:  # a sender bug must not lose the row: retry, then fail
            log.exception("sender raised")
            return SendResult(Outcome.RETRY, error=type(exc).__name__)
        if result.throttled and result.retry_after is not None:  # the rest of the wave waits now
            self._pause_here(account.channel, result.retry_after)
        return result

    async def _record(
        self, results: list[tuple[Delivery, Account, SendResult]], report: StepReport
    ) -> None:
        now = self.clock()
        changes: list[dict[str, Any]] = []
        blocked: set[int] = set()
        pauses: dict[str, float] = {}
        for delivery, account, result in results:
            row: dict[str, Any] = {"id": delivery.id, "updated_at": now, "error": result.error}
            attempts = delivery.attempts + 1
            if result.throttled:
                metrics.RATE_LIMITED.labels(account.channel).inc()
            if result.outcome == Outcome.SENT:
                row |= {"status": Status.SENT.value, "platform_id": result.platform_id}
                report.sent += 1
            elif result.outcome == Outcome.UNREACHABLE:
                row["status"] = Status.UNREACHABLE.value
                blocked.add(account.id)
                report.unreachable += 1
            elif result.outcome == Outcome.RETRY and attempts < self.settings.delivery_max_attempts:
                wait = result.retry_after if result.retry_after is not None else _backoff(attempts)
                if result.retry_after is not None:
                    pauses[account.channel] = max(pauses.get(account.channel, 0.0), wait)
                row |= {
                    "status": Status.PENDING.value,
                    "claimed_by": None,
                    "claimed_at": None,
                    "not_before": now + timedelta(seconds=wait),
                }
                report.retried += 1
                metrics.RETRIES.labels(account.channel).inc()
            else:
                row["status"] = Status.FAILED.value
                row["error"] = result.error or result.outcome.value
                report.failed += 1
            changes.append(row)
        for channel, seconds in pauses.items():
            await self.limiter.pause(channel, seconds)
        if not changes:
            return
        # Same keys per row: each group is one Core executemany (the ORM's bulk UPDATE by
        # primary key cost several times as much Python per row).
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in changes:
            row["error"] = (row["error"] or None) and str(row["error"])[:200]
            groups.setdefault(tuple(sorted(row)), []).append(row)
        async with self.sessions() as session, session.begin():
            for keys, rows in groups.items():
                await session.execute(_update_by_id(keys), [_bound(row) for row in rows])
            if blocked:
                await session.execute(
                    update(Account).where(Account.id.in_(blocked)).values(reachable=False)
                )

    async def _skip(
        self, pairs: list[tuple[Delivery, Account]], status: Status, error: str, now: datetime
    ) -> None:
        if not pairs:
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(Delivery)
                .where(Delivery.id.in_([d.id for d, _ in pairs]), Delivery.status == "pending")
                .values(status=status.value, error=error, updated_at=now)
                .execution_options(synchronize_session=False)
            )

    async def _wave(
        self, wave: list[tuple[Delivery, Account]], slots: list[float], report: StepReport
    ) -> list[tuple[Delivery, Account, SendResult]]:
        """Mark the wave in flight while its first slot comes due, then send each message at its
        own slot (a tick's worth together): the database round trip never moves a send, so
        its lateness cannot bunch two waves into one second."""
        started = await self._start([d.id for d, _ in wave], self.clock())
        live = [(d, a, at) for (d, a), at in zip(wave, slots, strict=True) if d.id in started]
        live.sort(key=lambda row: row[2])
        sends: list[asyncio.Future[SendResult]] = []
        first = 0
        while first < len(live):
            channel = live[first][1].channel
            last = first
            while (
                last + 1 < len(live)
                and live[last + 1][2] - live[first][2] < TICK
                and live[last + 1][1].channel == channel
            ):
                last += 1
            await sleep_until(live[last][2])  # never before any slot of the group
            # A 429 came back after these slots were booked: they wait it out too (a while:
            # the rows are `sending`, and must not look abandoned to another worker).
            await sleep_until(min(self._paused.get(channel, 0.0), self._latest_resume()))
            group = live[first : last + 1]
            await self._window(channel).admit(len(group))
            sends.extend(asyncio.ensure_future(self._send(d, a)) for d, a, _ in group)
            first = last + 1
        results = await asyncio.gather(*sends)
        done = [(d, a, r) for (d, a, _), r in zip(live, results, strict=True)]
        await self._record(done, report)
        return done

    async def _prepare(self, now: datetime) -> Batch:
        """Recover, claim and load one batch; rows of unreachable accounts are settled here."""
        report = StepReport(recovered=await self.recover(now))
        ids = await self.claim(now)
        report.claimed = len(ids)
        if not ids:
            return Batch(report, [])
        pairs = await self._load(ids)
        unreachable = [(d, a) for d, a in pairs if not a.reachable]
        await self._skip(unreachable, Status.UNREACHABLE, "blocked earlier", now)
        report.unreachable += len(unreachable)
        return Batch(report, [(d, a) for d, a in pairs if a.reachable])

    def _pause_here(self, channel: str, seconds: float) -> None:
        """Hold this process's booked sends on `channel` (the limiter holds what is booked next)."""
        resume = asyncio.get_running_loop().time() + seconds
        self._paused[channel] = max(self._paused.get(channel, 0.0), resume)

    def _latest_resume(self) -> float:
        return asyncio.get_running_loop().time() + self.lease.total_seconds() / 4

    def _window(self, channel: str) -> SendWindow:
        window = self._windows.get(channel)
        if window is None:
            window = self._windows[channel] = SendWindow(self.senders[channel].limits.per_second)
        return window

    async def _reserve(self, wave: list[tuple[Delivery, Account]]) -> list[float]:
        """A limiter slot per row of the wave, in its order (one reservation per channel)."""
        slots = [0.0] * len(wave)
        rows: dict[str, list[int]] = {}
        for i, (_, account) in enumerate(wave):
            rows.setdefault(account.channel, []).append(i)
        for channel, indices in rows.items():
            limits = self.senders[channel].limits
            refs = [wave[i][1].chat_ref for i in indices]
            granted = await reserve_slots(
                self.limiter, channel, limits.per_second, refs, limits.per_chat_interval
            )
            for i, at in zip(indices, granted, strict=True):
                slots[i] = at
        return slots

    async def _deliver(self, batch: Batch, last_wave: Callable[[], None] | None = None) -> None:
        """Send a batch in waves; `last_wave` is called once its last wave is on its way (the
        next batch is claimed while that wave is on the wire)."""
        pending, report = batch.pending, batch.report
        if not pending:
            return
        rate = min(self.senders[a.channel].limits.per_second for _, a in pending)
        concurrency = self.settings.delivery_concurrency
        size = wave_size(rate, concurrency)
        # Waves on the wire at once: enough to cover the database round trips of each, few
        # enough that a stalled process catching up cannot burst much beyond the rate (a wave
        # is a tenth of a second of sending at most).
        flights = max(2, min(MAX_FLIGHTS, concurrency // size))
        inflight: set[asyncio.Task[Any]] = set()
        started: set[int] = set()
        try:
            for first in range(0, len(pending), size):
                wave = pending[first : first + size]
                slots = await self._reserve(wave)
                started.update(d.id for d, _ in wave)
                # The next wave's slots are reserved while this one waits for its own.
                inflight.add(asyncio.create_task(self._wave(wave, slots, report)))
                if last_wave is not None and first + size >= len(pending):
                    last_wave()
                if len(inflight) >= flights:
                    done, inflight = await asyncio.wait(
                        inflight, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()
            if inflight:
                for finished in asyncio.as_completed(inflight):
                    await finished
        finally:
            await self.release([d.id for d, _ in pending if d.id not in started])

    async def step(self, now: datetime | None = None) -> StepReport:
        """One pass over what is due now; returns what happened (0 claimed = nothing due)."""
        batch = await self._prepare(now or self.clock())
        await self._deliver(batch)
        return batch.report

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        """Drain until `stop` is set; waits `idle` seconds when nothing is due. The next batch
        is claimed and loaded while the last wave of the current one is on the wire, so the
        limiter's slots are not left unused between batches."""
        ahead: asyncio.Task[Batch] | None = None

        def claim_next() -> None:
            nonlocal ahead
            if not stop.is_set():
                ahead = asyncio.create_task(self._prepare(self.clock()))

        while not stop.is_set():
            try:
                if ahead is not None:
                    claimed, ahead = ahead, None
                    batch = await claimed
                else:
                    batch = await self._prepare(self.clock())
                await self._deliver(batch, claim_next)
                report = batch.report
            except Exception as exc:  # a database restart: keep the loop alive and try again
                if not is_outage(exc):
                    log.exception("drain step failed")
                elif not self._down:
                    log.warning("drain paused: a dependency is down (%s)", type(exc).__name__)
                self._down = is_outage(exc)
                report = StepReport()
            else:
                if self._down:
                    log.warning("drain resumed")
                self._down = False
            if report.claimed == 0:
                try:
                    await asyncio.wait_for(stop.wait(), idle)
                except TimeoutError:
                    pass
        if ahead is not None:  # claimed for a pass that will not come: give the rows back
            with contextlib.suppress(Exception):
                await self.release([d.id for d, _ in (await ahead).pending])


async def drain_once(
    app: Any,
    senders: Mapping[str, ChannelSender],
    *,
    now: datetime | None = None,
    limiter: Limiter | None = None,
) -> StepReport:
    """Send everything due at `now` (passes until none is claimed); for tests and `--once`."""
    drain = Drain(app.sessions, senders, app.settings, limiter=limiter)
    total = StepReport()
    while True:
        report = await drain.step(now)
        for field in ("claimed", "sent", "retried", "failed", "unreachable", "recovered"):
            setattr(total, field, getattr(total, field) + getattr(report, field))
        if report.claimed == 0:
            return total
