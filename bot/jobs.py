"""Periodic jobs that run in every process (`abdi run`, `abdi chat`, `abdi worker`) and fire once.

A job runs at most once per time slot (now // interval) across all processes: the runner first
inserts (job name, slot) into `job_run`, whose unique key lets exactly one process win. Jobs take
(app, now), so tests drive them with any clock.

`JOBS` below is the one list of every job with its name and interval. A capability's jobs are
plain async functions in its own module (which imports nothing from here); add one by writing
the function there and a line here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot import four_in_one_jobs
from bot.channels import whatsapp_status
from bot.outage import is_outage
from bot.services import retention
from bot.services.broadcasting import jobs as broadcasting
from storage.models import JobRun, utcnow

log = logging.getLogger("abdi.jobs")
JobFn = Callable[[Any, datetime], Awaitable[None]]
KEEP_RUNS = timedelta(days=7)


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    fn: JobFn

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())


async def claim(app: Any, job: Job, now: datetime, worker: str) -> bool:
    """True for exactly one process per (job, slot)."""
    try:
        async with app.sessions() as session, session.begin():
            session.add(
                JobRun(name=job.name, slot=job.slot(now), worker=worker[:64], started_at=now)
            )
    except IntegrityError:
        return False
    return True


async def run_due(
    app: Any,
    now: datetime | None = None,
    *,
    worker: str = "local",
    names: list[str] | None = None,
    jobs: Sequence[Job] | None = None,
) -> list[str]:
    """Run every job (of `JOBS`, or those given) whose current slot nobody has taken yet; the
    names of those run here."""
    now = now or utcnow()
    ran = []
    for job in JOBS if jobs is None else jobs:
        if names is not None and job.name not in names:
            continue
        if not await claim(app, job, now, worker):
            continue
        try:
            await job.fn(app, now)
        except Exception as exc:  # one failing job must not stop the others or the loop
            if not is_outage(exc):
                log.exception("job failed", extra={"job": job.name})
            else:
                log.warning("job not run, a dependency is down: %s", type(exc).__name__)
        ran.append(job.name)
    return ran


async def run_forever(
    app: Any,
    stop: asyncio.Event,
    *,
    worker: str,
    tick: float = 1.0,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    down = False
    while not stop.is_set():
        try:
            await run_due(app, clock(), worker=worker)
        except Exception as exc:  # database restart: try again next tick
            if not is_outage(exc):
                log.exception("job runner failed")
            elif not down:  # one line per outage, not one per tick
                log.warning("jobs paused: a dependency is down (%s)", type(exc).__name__)
            down = is_outage(exc)
        else:
            down = False
        try:
            await asyncio.wait_for(stop.wait(), tick)
        except TimeoutError:
            pass


async def prune(app: Any, now: datetime) -> None:
    async with app.sessions() as session, session.begin():
        await session.execute(delete(JobRun).where(JobRun.started_at < now - KEEP_RUNS))


JOBS: tuple[Job, ...] = (
    Job("jobs.prune", timedelta(days=1), prune),
    # Personal data past its limit (event claims past DEDUP_TTL_SECONDS among it), in batches.
    Job("retention", timedelta(hours=1), retention.job),
    Job("broadcast.release", timedelta(seconds=10), broadcasting.release_scheduled),
    Job("broadcast.progress", timedelta(seconds=10), broadcasting.report_progress),
    Job("reminders", timedelta(minutes=1), broadcasting.fire_reminders),
    Job("broadcast.ack_remind", timedelta(minutes=5), broadcasting.remind_unconfirmed),
    Job("case.escalate", timedelta(minutes=5), four_in_one_jobs.escalate),
    Job("case.satisfaction", timedelta(minutes=15), four_in_one_jobs.ask_satisfaction),
    Job("whatsapp.settle", timedelta(minutes=1), whatsapp_status.settle_job),
)
