"""A roster upload's preview and its confirmed import, each run in the background: 100,000 rows
take ~35 s to read and check and ~20 s to apply, past what a proxy lets one request wait
(deploy/nginx: 60 s). The upload and the confirmation start a job and answer at once with a
page that polls it; the report is kept in the shared state store beside the upload it came
from (the preview's good rows under the upload's own key), so any serve process can show it.

A job is claimed once per upload (`first_seen`, atomic in Redis): a double click or a reload of
the confirmation finds the job already running and shows it, never a second import.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app import App, short
from bot.services import audit, roster
from storage.models import Agency
from storage.state import ConversationState

log = logging.getLogger("abdi.web.roster")
JOB_STATE = "web-roster-job"
UPLOAD_STATE = "web-roster-upload"  # an upload's good rows, waiting for the confirmation
RUNNING, DONE, FAILED = "running", "done", "failed"
PREVIEW, IMPORT = "preview", "import"  # the two jobs of one upload
JOB_TTL = 30 * 60  # the result stays this long for the officer to read
TASKS = web.AppKey("roster_jobs", set[asyncio.Task[None]])


def job_key(session_id: int, token: str, kind: str = IMPORT) -> str:
    # Tied to the web session, as the upload it came from.
    return f"{JOB_STATE}:{kind}:{session_id}:{token}"


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


def start(console: web.Application, job: Coroutine[Any, Any, None]) -> None:
    """Run `job` off the request; the console keeps the task so that shutdown waits for it."""
    task = asyncio.create_task(job)
    tasks = console[TASKS]
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def begin(app: App, key: str, name: str, rows: int | None = None) -> None:
    """The job's first state: what it reads or imports, since when."""
    started = datetime.now(UTC).isoformat()
    job = {"stage": RUNNING, "name": name, "rows": rows, "started": started}
    await app.store.set(key, ConversationState(JOB_STATE, job), JOB_TTL)


async def _finish(app: App, key: str, **result: Any) -> None:
    job = dict(await status(app, key) or {})
    job |= result | {"finished": datetime.now(UTC).isoformat()}
    await app.store.set(key, ConversationState(JOB_STATE, job), JOB_TTL)


async def import_rows(
    app: App,
    key: str,
    agency_id: int,
    actor: str,
    name: str,
    rows: list[tuple[int, dict[str, str]]],
) -> None:
    try:
        async with app.sessions() as session, session.begin():
            agency = await session.get(Agency, agency_id)
            if agency is None:
                raise LookupError(f"agency {agency_id}")
            report = await roster.import_roster(session, agency, rows, actor, via="web", file=name)
    except Exception as exc:  # the officer sees that nothing was imported; the log says why
        log.error("roster import from the console failed: %s", short(exc))
        await _finish(app, key, stage=FAILED, error="web.roster.import_failed", params={})
        return
    await _finish(app, key, stage=DONE, report=asdict(report))


async def preview(
    app: App,
    key: str,
    agency_id: int,
    actor: str,
    name: str,
    data: bytes,
    upload: str,
    upload_ttl: int,
) -> None:
    """Read and check the file as the CLI does (nothing written but the audit row); the good
    rows wait under `upload` for the confirmation."""
    try:
        rows = await asyncio.to_thread(read_rows, name, data)
        async with app.sessions() as session, session.begin():
            agency = await session.get(Agency, agency_id)
            if agency is None:
                raise LookupError(f"agency {agency_id}")
            plan = await roster.plan_import(session, agency, rows)
            audit.record(
                session,
                actor=actor,
                action="roster.preview",
                agency_id=agency_id,
                via="web",
                file=name,
                rows=len(rows),
                rejected=len(plan.report.errors),
            )
        if plan.good:
            state = ConversationState(UPLOAD_STATE, {"name": name, "rows": rows})
            await app.store.set(upload, state, upload_ttl)
    except roster.RosterFileError as exc:
        await _finish(app, key, stage=FAILED, error=exc.reason, params=exc.params)
        return
    except Exception as exc:
        log.error("roster preview in the console failed: %s", short(exc))
        await _finish(app, key, stage=FAILED, error="web.roster.preview_failed", params={})
        return
    await _finish(app, key, stage=DONE, report=asdict(plan.report), good=bool(plan.good))


def read_rows(name: str, data: bytes) -> list[tuple[int, dict[str, str]]]:
    """The CLI's reader on the uploaded bytes, under the file's own name (it decides the format
    by the suffix and names the file in its errors)."""
    with tempfile.TemporaryDirectory(prefix="abdi-roster-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        return roster.read_rows(path)


def install(console: web.Application) -> None:
    """Keep the running jobs; at shutdown let each finish (one transaction each) first."""
    console[TASKS] = set()

    async def finish(_console: web.Application) -> None:
        if console[TASKS]:
            await asyncio.gather(*console[TASKS], return_exceptions=True)

    console.on_cleanup.append(finish)
