"""The console's audit log: the agency's audit rows newest first, filtered by actor, action,
target and time, one page at a time by id (keyset: as fast on the millionth row as on the first),
and the same selection as a streamed CSV (whose export is itself logged)."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import Select, func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from yarl import URL

from bot.hr_web.audit_words import action_label, detail_lines
from bot.hr_web.context import BAD_PAGE, HR_ROLES, WebContext, page, page_asked
from bot.services.kept import Kept, database
from storage.models import AuditLog, Employee

routes = web.RouteTableDef()
PAGE_SIZE = 50
EXPORT_CHUNK = 1000
NAME_MATCHES = 100  # employees a name filter may stand for
_EMPLOYEE = re.compile(r"^employee:(\d{1,9})$")
_NIP = re.compile(r"^\d{18}$")
_ID = re.compile(r"^\d{1,12}$")
_ACTION = re.compile(r"^[a-z0-9_.]{1,64}$")
ACTIONS_SECONDS = 300.0
_ACTIONS: Kept[tuple[str, int], list[str]] = Kept()
EXPORT_COLUMNS = ("id", "at", "actor", "actor_name", "actor_nip", "action", "target", "detail")


class FilterError(ValueError):
    """A filter that cannot be read; the value is a message id."""


@dataclass
class Filters:
    """What the officer typed, as typed (to show it back), and the SQL it stands for."""

    actor: str = ""
    action: str = ""
    target: str = ""
    since: str = ""
    until: str = ""
    where: list[ColumnElement[bool]] = field(default_factory=list)

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (the pager and the export link keep them)."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "since": self.since,
            "until": self.until,
        }
        return {k: v for k, v in values.items() if v}


def _day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError("web.audit.error.date") from None


async def _actor_condition(ctx: WebContext, raw: str) -> ColumnElement[bool]:
    """A NIP or a name stands for employees of this agency (as `employee:<id>`); anything else,
    or also, the actor string itself (`cli:root`, `system`)."""
    if _NIP.match(raw):
        found = await ctx.session.scalar(
            select(Employee.id).where(Employee.agency_id == ctx.agency.id, Employee.nip == raw)
        )
        if found is None:
            raise FilterError("web.audit.error.no_person")
        return AuditLog.actor == f"employee:{found}"
    if _EMPLOYEE.match(raw) or not any(c.isalpha() for c in raw):
        return AuditLog.actor == raw
    like = "%" + raw.replace("%", "").replace("_", "").lower() + "%"
    ids = list(
        await ctx.session.scalars(
            select(Employee.id)
            .where(Employee.agency_id == ctx.agency.id, func.lower(Employee.name).like(like))
            .order_by(Employee.id)
            .limit(NAME_MATCHES)
        )
    )
    return or_(AuditLog.actor == raw, AuditLog.actor.in_([f"employee:{i}" for i in ids]))


async def known_actions(ctx: WebContext) -> list[str]:
    """The actions this agency's log holds, for the filter's choices. Listing them reads the
    whole log (no index leads there), so the list is kept a few minutes per database and agency;
    an action newer than that is still found when typed into the URL."""
    key = (database(ctx.session), ctx.agency.id)
    now = monotonic()
    hit = _ACTIONS.get(key, now)
    if hit is not None:
        return hit
    found = list(
        await ctx.session.scalars(
            select(AuditLog.action)
            .where(AuditLog.agency_id == ctx.agency.id)
            .distinct()
            .order_by(AuditLog.action)
        )
    )
    return _ACTIONS.put(key, found, now + ACTIONS_SECONDS)


async def read_filters(ctx: WebContext) -> Filters:
    """The filters of the request, checked; FilterError names what is wrong."""
    q = ctx.request.query
    found = Filters(
        actor=q.get("actor", "").strip()[:100],
        action=q.get("action", "").strip()[:64],
        target=q.get("target", "").strip()[:100],
        since=q.get("since", "").strip()[:10],
        until=q.get("until", "").strip()[:10],
    )
    where = found.where
    if found.actor:
        where.append(await _actor_condition(ctx, found.actor))
    if found.action:
        if not _ACTION.match(found.action):
            raise FilterError("web.audit.error.action")
        where.append(AuditLog.action == found.action)
    if found.target:
        where.append(AuditLog.target == found.target)
    zone = ZoneInfo(ctx.agency.timezone)
    start = _day(found.since) if found.since else None
    end = _day(found.until) if found.until else None
    if start and end and start > end:
        raise FilterError("web.audit.error.range")
    # Whole local days: from midnight of the first to midnight after the last, in UTC.
    if start:
        where.append(AuditLog.at >= datetime.combine(start, time(), zone).astimezone(UTC))
    if end:
        after = datetime.combine(end + timedelta(days=1), time(), zone).astimezone(UTC)
        where.append(AuditLog.at < after)
    return found


def _selection(ctx: WebContext, filters: Filters) -> Select[AuditLog]:
    return select(AuditLog).where(AuditLog.agency_id == ctx.agency.id, *filters.where)


async def _people(ctx: WebContext, rows: list[AuditLog]) -> dict[str, tuple[str, str]]:
    """`employee:<id>` -> (name, NIP) for the actors of these rows (this agency's people only)."""
    ids = {int(m.group(1)) for r in rows if (m := _EMPLOYEE.match(r.actor))}
    if not ids:
        return {}
    found = await ctx.session.execute(
        select(Employee.id, Employee.name, Employee.nip).where(
            Employee.id.in_(sorted(ids)), Employee.agency_id == ctx.agency.id
        )
    )
    return {f"employee:{i}": (name, nip) for i, name, nip in found.all()}


def compact(detail: dict[str, Any] | None) -> str:
    return json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@routes.get("/audit", name="audit")
@page(roles=HR_ROLES)
async def audit_page(ctx: WebContext) -> web.StreamResponse:
    actions = await known_actions(ctx)
    try:
        filters = await read_filters(ctx)
    except FilterError as exc:
        return _render(ctx, _typed(ctx), actions, [], {}, error=str(exc))
    q = ctx.request.query
    before, after = q.get("before", "").strip(), q.get("after", "").strip()
    # The log pages by id, not by number; a page, or a place in it, that is not one is the
    # console's one answer to a bad page number: 400, the newest page and a line saying so.
    bad_page = page_asked(ctx.request) is None or any(
        v and not _ID.match(v) for v in (before, after)
    )
    if bad_page:
        before = after = ""
    stmt = _selection(ctx, filters)
    if _ID.match(after):
        # Newer rows than the page after this one: read upwards, shown newest first.
        stmt = stmt.where(AuditLog.id > int(after)).order_by(AuditLog.id.asc())
        rows = list(await ctx.session.scalars(stmt.limit(PAGE_SIZE + 1)))
        newer, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE][::-1]
        older = True
    else:
        if _ID.match(before):
            stmt = stmt.where(AuditLog.id < int(before))
        stmt = stmt.order_by(AuditLog.id.desc())
        rows = list(await ctx.session.scalars(stmt.limit(PAGE_SIZE + 1)))
        older, rows = len(rows) > PAGE_SIZE, rows[:PAGE_SIZE]
        newer = bool(_ID.match(before))
    links = {
        "newer": _link(filters, after=rows[0].id) if rows and newer else None,
        "older": _link(filters, before=rows[-1].id) if rows and older else None,
        "newest": _link(filters) if newer else None,
    }
    return _render(
        ctx,
        filters,
        actions,
        rows,
        await _people(ctx, rows),
        links=links,
        page_error=BAD_PAGE if bad_page else None,
    )


def _typed(ctx: WebContext) -> Filters:
    """The filters as typed, to show them back beside what is wrong with them."""
    q = ctx.request.query

    def typed(key: str) -> str:
        return q.get(key, "").strip()[:100]

    return Filters(typed("actor"), typed("action"), typed("target"), typed("since"), typed("until"))


def _link(filters: Filters, **extra: int) -> str:
    return str(URL("/hr/audit").with_query({**filters.query(), **extra}))


def _render(
    ctx: WebContext,
    filters: Filters,
    actions: list[str],
    rows: list[AuditLog],
    people: dict[str, tuple[str, str]],
    *,
    error: str | None = None,
    page_error: str | None = None,
    links: dict[str, str | None] | None = None,
) -> web.Response:
    return ctx.render(
        "audit_log.html",
        status=400 if error or page_error else 200,
        page_error=page_error,
        filters=filters,
        # The chosen action stays chosen even when it is newer than the kept list.
        actions=sorted({*actions, filters.action} - {""}) if not error else actions,
        rows=rows,
        people=people,
        detail_lines=detail_lines,
        action_label=lambda action: action_label(action, ctx.t),
        error=error,
        links=links or {},
        export=str(URL("/hr/audit/export.csv").with_query(filters.query())),
        zone=ctx.agency.timezone,
    )


def _cell(value: str) -> str:
    """A spreadsheet would run a cell starting with = + - @ as a formula: not from our data."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


@routes.get("/audit/export.csv", name="audit_export")
@page(roles=HR_ROLES)
async def audit_export(ctx: WebContext) -> web.StreamResponse:
    try:
        filters = await read_filters(ctx)
    except FilterError as exc:
        return _render(ctx, _typed(ctx), await known_actions(ctx), [], {}, error=str(exc))
    zone = ZoneInfo(ctx.agency.timezone)
    stamp = datetime.now(zone).strftime("%Y%m%d-%H%M")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(ctx.request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    async def flush() -> None:
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()

    writer.writerow(EXPORT_COLUMNS)
    await flush()
    written, complete = 0, True
    # One query read through a server-side cursor, a chunk at a time: one pass over the log
    # however long it is, and never more than a chunk in memory.
    stmt = _selection(ctx, filters).order_by(AuditLog.id.desc())
    found = await ctx.session.stream_scalars(stmt.execution_options(yield_per=EXPORT_CHUNK))
    try:
        async for chunk in found.partitions(EXPORT_CHUNK):
            rows = list(chunk)
            people = await _people(ctx, rows)
            for r in rows:
                name, nip = people.get(r.actor, ("", ""))
                at = r.at.astimezone(zone).isoformat(timespec="seconds")
                cells = [r.actor, name, nip, r.action, r.target or "", compact(r.detail)]
                writer.writerow([r.id, at, *(_cell(c) for c in cells)])
            await flush()
            written += len(rows)
    except ConnectionResetError:
        complete = False  # the officer went away: what was sent is still logged below
    finally:
        await found.close()
    # Logged after the rows are read, so the export never lists its own row.
    ctx.audit("audit.export", None, rows=written, complete=complete, filters=filters.query())
    if complete:
        await response.write_eof()
    return response
