"""A confirmed roster upload, applied in the background: 100,000 rows take ~20 s, past what a
proxy lets one request wait (deploy/nginx: 60 s with the preview). The confirmation starts the
job and answers at once with a page that polls it; the result summary is kept in the shared
state store beside the upload it came from, so any serve process can show it.

A job is claimed once per upload (`first_seen`, atomic in Redis): a double click or a reload of
the confirmation finds the job already running and shows it, never a second import.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.app import App, short
from bot.services import roster
from storage.models import Agency
from storage.state import ConversationState

log = logging.getLogger("abdi.web.roster")
JOB_STATE = "web-roster-job"
RUNNING, DONE, FAILED = "running", "done", "failed"
JOB_TTL = 30 * 60  # the result stays this long for the officer to read
TASKS = web.AppKey("roster_jobs", set[asyncio.Task[None]])


def job_key(session_id: int, token: str) -> str:
    # Tied to the web session, as the upload it came from.
    return f"{JOB_STATE}:{session_id}:{token}"


async def claim(app: App, key: str) -> bool:
    """True for the first confirmation of this upload only."""
    return await app.store.first_seen(f"{key}:claimed", JOB_TTL)


async def status(app: App, key: str) -> dict[str, Any] | None:
    state = await app.store.get(key)
    return dict(state.data) if state is not None and state.name == JOB_STATE else None


def report_of(job: dict[str, Any]) -> roster.ImportReport:
    """The result summary as the import returned it (kept as plain JSON in the store)."""
    data = dict(job["report"])
    errors = [roster.RowError(**e) for e in data.pop("errors")]
    return roster.ImportReport(**data, errors=errors)


def start(
    console: web.Application,
    app: App,
    key: str,
    *,
    agency_id: int,
    actor: str,
    name: str,
    rows: list[tuple[int, dict[str, str]]],
) -> asyncio.Task[None]:
    """Run the import off the request; the console keeps the task so shutdown waits for it."""
    task = asyncio.create_task(_run(app, key, agency_id, actor, name, rows))
    tasks = console[TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def begin(app: App, key: str, name: str, rows: int) -> None:
    """The job's first state: what it imports, since when."""
    started = datetime.now(UTC).isoformat()
    job = {"stage": RUNNING, "name": name, "rows": rows, "started": started}
    await app.store.set(key, ConversationState(JOB_STATE, job), JOB_TTL)


async def _run(
    app: App,
    key: str,
    agency_id: int,
    actor: str,
    name: str,
    rows: list[tuple[int, dict[str, str]]],
) -> None:
    job = dict(await status(app, key) or {"name": name, "rows": len(rows)})
    try:
        async with app.sessions() as session, session.begin():
            agency = await session.get(Agency, agency_id)
            if agency is None:
                raise LookupError(f"agency {agency_id}")
            report = await roster.import_roster(session, agency, rows, actor, via="web", file=name)
        job |= {"stage": DONE, "report": asdict(report)}
    except Exception as exc:  # the officer sees that nothing was imported; the log says why
        log.error("roster import from the console failed: %s", short(exc))
        job |= {"stage": FAILED}
    job["finished"] = datetime.now(UTC).isoformat()
    await app.store.set(key, ConversationState(JOB_STATE, job), JOB_TTL)


def install(console: web.Application) -> None:
    """Keep the running jobs; at shutdown let each finish (one transaction each) first."""
    console[TASKS] = set()

    async def finish(_console: web.Application) -> None:
        if console[TASKS]:
            await asyncio.gather(*console[TASKS], return_exceptions=True)

    console.on_cleanup.append(finish)
