"""The console's roster page: find and page through the staff, an employee's card (accounts,
roles, link codes, unlinking), and the roster file in and out.

Everything here calls the services the CLI and the chat's account desk call (bot/services/roster,
identity, staff_search); the page only adds the confirmation steps and the upload's preview.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from multidict import MultiDict, MultiDictProxy
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.hr_web import roster_jobs
from bot.hr_web.context import (
    BAD_PAGE,
    HR_ROLES,
    Paging,
    WebContext,
    csrf_ok,
    form,
    page,
    page_asked,
    redirect,
)
from bot.services import identity, roster
from bot.services.staff_search import matching
from storage.models import Account, Employee, Unit

routes = web.RouteTableDef()
PER_PAGE = 50
MAX_ERRORS_SHOWN = 1000  # a preview lists this many bad rows; the rest are counted
UPLOAD_TTL = 30 * 60  # an uploaded roster waits this long for its confirmation
UPLOAD_STATE = roster_jobs.UPLOAD_STATE
CHUNK = 64 * 1024
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what `secrets.token_urlsafe` makes
# Message ids by stored code, written out so the catalog checks see every one.
LABELS = {
    "role": {
        "hr": "web.roster.role.hr",
        "officer": "web.roster.role.officer",
        "taspen": "web.roster.role.taspen",
        "dukcapil": "web.roster.role.dukcapil",
    },
    "status": {
        "active": "web.roster.status.active",
        "deceased": "web.roster.status.deceased",
        "left": "web.roster.status.left",
    },
    "channel": {
        # The same names as the chat's accounts desk gives them.
        "telegram": "channel.telegram",
        "whatsapp": "channel.whatsapp",
        "console": "channel.console",
    },
}
DONE = {
    "granted": "web.roster.done.granted",
    "revoked": "web.roster.done.revoked",
    "unchanged": "web.roster.done.unchanged",
    "unlinked": "web.roster.done.unlinked",
}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _TooBig(Exception):
    """The upload passed the console's limit."""


class _Forged(Exception):
    """The upload came without this session's CSRF token."""


class _NotForm(Exception):
    """The request body is not the upload form."""


def _number(raw: str | None, default: int | None = None) -> int | None:
    """A positive whole number from a form or query; None when it is not one."""
    if raw is None or raw == "":
        return default
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 12:
        return None
    value = int(raw)
    return value if value >= 1 else None


async def _employee(ctx: WebContext) -> Employee | None:
    """The employee the URL names, only if they belong to the officer's agency."""
    employee_id = _number(ctx.request.match_info.get("id"))
    if employee_id is None:
        return None
    employee = await ctx.session.get(Employee, employee_id)
    if employee is None or employee.agency_id != ctx.agency.id:
        return None
    return employee


def _render(ctx: WebContext, template: str, status: int = 200, **values: Any) -> web.Response:
    return ctx.render(template, status=status, label=LABELS, **values)


def _not_found(ctx: WebContext) -> web.Response:
    return _render(ctx, "roster_missing.html", status=404)


# ---------------------------------------------------------------- the list


@routes.get("/roster", name="roster")
@page(roles=HR_ROLES)
async def roster_list(ctx: WebContext) -> web.StreamResponse:
    query = ctx.request.query
    q = query.get("q", "").strip()[:100]
    units = list(
        await ctx.session.execute(
            select(Unit.id, Unit.name).where(Unit.agency_id == ctx.agency.id).order_by(Unit.name)
        )
    )
    error = None
    asked = page_asked(ctx.request)
    unit_id = _number(query.get("unit"))
    if asked is None:
        error, asked = BAD_PAGE, 1
    if query.get("unit") and (unit_id is None or unit_id not in {u.id for u in units}):
        error, unit_id = "web.roster.bad_unit", None
    where = matching(ctx.agency.id, q) if q else Employee.agency_id == ctx.agency.id
    if unit_id is not None:
        where = where & (Employee.unit_id == unit_id)
    total = await ctx.session.scalar(select(func.count()).select_from(Employee).where(where)) or 0
    paging = Paging.of(asked, total, PER_PAGE)
    page_no, pages = paging.current, paging.last
    employees = list(
        await ctx.session.scalars(
            select(Employee)
            .where(where)
            .order_by(Employee.name, Employee.id)
            .limit(PER_PAGE)
            .offset(paging.offset)
        )
    )
    channels: dict[int, list[str]] = {e.id: [] for e in employees}
    if employees:
        for employee_id, channel in await ctx.session.execute(
            select(Account.employee_id, Account.channel)
            .where(Account.employee_id.in_(list(channels)))
            .order_by(Account.channel)
        ):
            if employee_id is not None:
                channels[employee_id].append(channel)
    if employees:
        ctx.audit("roster.list", q=q, unit=unit_id, page=page_no, shown=len(employees))

    def link(number: int) -> str:
        params: dict[str, str | int] = {"page": number}
        if q:
            params["q"] = q
        if unit_id is not None:
            params["unit"] = unit_id
        return str(ctx.request.rel_url.with_query(params))

    return _render(
        ctx,
        "roster.html",
        status=400 if error else 200,
        error=error,
        q=q,
        unit_id=unit_id,
        units=units,
        employees=employees,
        channels=channels,
        total=total,
        page_no=page_no,
        pages=pages,
        prev_link=link(page_no - 1) if page_no > 1 else None,
        next_link=link(page_no + 1) if page_no < pages else None,
    )


# ---------------------------------------------------------------- an employee's card


async def _card(
    ctx: WebContext,
    employee: Employee,
    *,
    status: int = 200,
    error: str | None = None,
    **values: Any,
) -> web.Response:
    accounts = list(
        await ctx.session.scalars(
            select(Account).where(Account.employee_id == employee.id).order_by(Account.channel)
        )
    )
    supervisor = (
        await ctx.session.get(Employee, employee.supervisor_id) if employee.supervisor_id else None
    )
    ctx.audit("employee.view", f"employee:{employee.id}")
    held = sorted(employee.role_names)
    done = ctx.request.query.get("done")
    done_role = ctx.request.query.get("role", "")
    values.setdefault("code", None)
    values.setdefault("expires", None)
    return _render(
        ctx,
        "roster_card.html",
        status=status,
        employee=employee,
        supervisor=supervisor,
        accounts=accounts,
        held=held,
        grantable=[r for r in identity.ROLES if r not in held],
        may_link=identity.may_link(employee),
        error=error,
        done=DONE.get(done or ""),
        done_role=done_role if done_role in identity.ROLES else "",
        zone=ctx.app.settings.agency_timezone,
        **values,
    )


def _card_path(employee: Employee, **query: str) -> str:
    url = f"/hr/roster/{employee.id}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


@routes.get(r"/roster/{id:\d+}", name="roster_card")
@page(roles=HR_ROLES)
async def card(ctx: WebContext) -> web.StreamResponse:
    employee = await _employee(ctx)
    if employee is None:
        return _not_found(ctx)
    return await _card(ctx, employee)


@routes.post(r"/roster/{id:\d+}/role")
@form(roles=HR_ROLES)
async def change_role(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    employee = await _employee(ctx)
    if employee is None:
        return _not_found(ctx)
    role, action = str(data.get("role", "")), str(data.get("action", ""))
    if role not in identity.ROLES or action not in ("grant", "revoke"):
        return await _card(ctx, employee, status=400, error="web.roster.bad_role")
    grant = action == "grant"
    if not grant and employee.id == ctx.employee.id and role == "hr":
        # Losing one's own HR role ends this session's access at once; another HR does it.
        return await _card(ctx, employee, status=400, error="web.roster.own_hr")
    if not grant and data.get("confirm") != "yes":
        return _render(
            ctx,
            "roster_confirm.html",
            employee=employee,
            kind="revoke",
            action=f"/hr/roster/{employee.id}/role",
            fields={"role": role, "action": "revoke"},
        )
    changed = await identity.set_role(
        ctx.session, employee, role, grant=grant, actor=ctx.actor, via="web"
    )
    done = ("granted" if grant else "revoked") if changed else "unchanged"
    return redirect(_card_path(employee, done=done, role=role))


@routes.post(r"/roster/{id:\d+}/code")
@form(roles=HR_ROLES)
async def link_code(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    employee = await _employee(ctx)
    if employee is None:
        return _not_found(ctx)
    if not identity.may_link(employee):
        return await _card(ctx, employee, status=400, error="web.roster.no_code")
    ttl = timedelta(minutes=ctx.app.settings.link_code_ttl_minutes)
    code, expires = await identity.create_link_code(
        ctx.session, employee, ttl, ctx.actor, via="web"
    )
    # Shown once, in this answer only (no-store): the code is kept as a hash, as in chat.
    return await _card(ctx, employee, code=code, expires=expires)


@routes.post(r"/roster/{id:\d+}/unlink")
@form(roles=HR_ROLES)
async def unlink(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    employee = await _employee(ctx)
    if employee is None:
        return _not_found(ctx)
    channel = str(data.get("channel", ""))
    linked = set(
        await ctx.session.scalars(select(Account.channel).where(Account.employee_id == employee.id))
    )
    if channel not in linked:
        return await _card(ctx, employee, status=400, error="web.roster.bad_channel")
    if data.get("confirm") != "yes":
        return _render(
            ctx,
            "roster_confirm.html",
            employee=employee,
            kind="unlink",
            action=f"/hr/roster/{employee.id}/unlink",
            fields={"channel": channel},
        )
    await identity.unlink(ctx.session, employee, ctx.actor, channel=channel, via="web")
    return redirect(_card_path(employee, done="unlinked"))


# ---------------------------------------------------------------- the roster file in


def _limit(ctx: WebContext) -> int:
    return ctx.app.settings.web_max_upload_mb * 1024 * 1024


def _import_page(ctx: WebContext, status: int = 200, **values: Any) -> web.Response:
    values.setdefault("error", None)
    values.setdefault("error_params", {})
    return _render(
        ctx,
        "roster_import.html",
        status=status,
        max_mb=ctx.app.settings.web_max_upload_mb,
        **values,
    )


@routes.get("/roster/import", name="roster_import")
@page(roles=HR_ROLES)
async def import_form(ctx: WebContext) -> web.StreamResponse:
    return _import_page(ctx)


def _safe_name(raw: str) -> str:
    """The uploaded file's own name, reduced to something harmless to keep on disk and show."""
    name = re.sub(r"[^\w.\- ]", "_", Path(raw.replace("\\", "/")).name).strip(" .")[:100]
    return name or "roster"


async def _read_upload(ctx: WebContext) -> tuple[str, bytes]:
    """(file name, bytes) of the form's file, read in chunks against the console's limit.

    The CSRF field comes before the file in the form, so a forged post is refused before any of
    its file is read (an htmx post carries the token as a header instead)."""
    limit = _limit(ctx)
    request = ctx.request
    if not request.content_type.startswith("multipart/form-data"):
        raise _NotForm
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError) as exc:  # aiohttp's words for a malformed multipart body
        raise _NotForm from exc
    fields: MultiDict[str] = MultiDict()
    total = 0
    while True:
        part = await reader.next()
        if part is None:
            raise _NotForm
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "file" and part.filename is not None:
            if not csrf_ok(ctx.csrf, MultiDictProxy(fields), request):
                raise _Forged
            data = bytearray()
            while chunk := await part.read_chunk(CHUNK):
                total += len(chunk)
                if total > limit:
                    raise _TooBig
                data += chunk
            return _safe_name(part.filename), bytes(data)
        value = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            total += len(chunk)
            if total > limit or len(value) > 1024:
                raise _TooBig
            value += chunk
        if part.name:
            fields.add(part.name, value.decode("utf-8", "replace"))


def _upload_key(ctx: WebContext, token: str) -> str:
    # Tied to the web session: another officer's session cannot confirm this upload.
    return f"{UPLOAD_STATE}:{ctx.web_session.id}:{token}"


@routes.post("/roster/import")
@page(roles=HR_ROLES)
async def upload(ctx: WebContext) -> web.StreamResponse:
    """Take the file, then read and check it in the background (35 s for 100,000 rows): the
    answer is the preview's page, which follows the job."""
    declared = ctx.request.content_length
    too_big = {"error": "web.roster.too_big", "error_params": {"mb": str(_limit(ctx) // 2**20)}}
    if declared is not None and declared > _limit(ctx) + CHUNK:
        return _import_page(ctx, status=413, **too_big)
    try:
        name, data = await _read_upload(ctx)
    except _TooBig:
        return _import_page(ctx, status=413, **too_big)
    except _Forged:
        return ctx.render("forbidden.html", status=403, reason="csrf")
    except _NotForm:
        return _import_page(ctx, status=400, error="web.roster.no_file")
    if not data:
        return _import_page(ctx, status=400, error="web.roster.no_file")
    token = secrets.token_urlsafe(24)
    job = roster_jobs.job_key(ctx.web_session.id, token, roster_jobs.PREVIEW)
    await roster_jobs.begin(ctx.app, job, name)
    upload = _upload_key(ctx, token)
    checking = roster_jobs.preview(
        ctx.app, job, ctx.agency.id, ctx.actor, name, data, upload, UPLOAD_TTL
    )
    roster_jobs.start(ctx.request.app, checking)
    return redirect(f"/hr/roster/import/preview/{token}")


def _report_page(
    ctx: WebContext, report: roster.ImportReport, name: str, stage: str, token: str | None = None
) -> web.Response:
    errors = [
        {"row": e.row, "nip": e.nip or "-", "reason": ctx.t(e.reason, **e.params)}
        for e in report.errors[:MAX_ERRORS_SHOWN]
    ]
    return _render(
        ctx,
        "roster_preview.html",
        report=report,
        name=name,
        stage=stage,
        token=token,
        errors=errors,
        more_errors=max(0, len(report.errors) - MAX_ERRORS_SHOWN),
    )


@routes.post("/roster/import/confirm")
@form(roles=HR_ROLES)
async def confirm_import(ctx: WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    """Start the import in the background and show its progress page (100,000 rows outlast a
    request); a second confirmation of the same upload shows the same job."""
    token = str(data.get("token", ""))
    if not TOKEN.fullmatch(token):
        return _import_page(ctx, status=400, error="web.roster.upload_gone")
    job = roster_jobs.job_key(ctx.web_session.id, token)
    progress = redirect(f"/hr/roster/import/job/{token}")
    if await roster_jobs.status(ctx.app, job) is not None:
        return progress
    key = _upload_key(ctx, token)
    state = await ctx.app.store.get(key)
    if state is None or state.name != UPLOAD_STATE:
        return _import_page(ctx, status=400, error="web.roster.upload_gone")
    if not await roster_jobs.claim(ctx.app, job):
        return progress  # the other click is starting it
    rows = [(int(number), dict(values)) for number, values in state.data["rows"]]
    name = str(state.data["name"])
    await roster_jobs.begin(ctx.app, job, name, len(rows))
    await ctx.app.store.clear(key)
    importing = roster_jobs.import_rows(ctx.app, job, ctx.agency.id, ctx.actor, name, rows)
    roster_jobs.start(ctx.request.app, importing)
    return progress


async def _job_page(ctx: WebContext, kind: str) -> web.StreamResponse:
    """A job of an upload: a progress page htmx polls while it runs, then its report."""
    token = ctx.request.match_info["token"]
    job = await roster_jobs.status(ctx.app, roster_jobs.job_key(ctx.web_session.id, token, kind))
    if job is None:
        return _import_page(ctx, status=404, error="web.roster.upload_gone")
    polled = ctx.request.headers.get("HX-Request") == "true"
    if job["stage"] == roster_jobs.RUNNING:
        return _render(
            ctx,
            "roster_job_progress.html" if polled else "roster_job.html",
            kind=kind,
            path=ctx.request.path,
            job=job,
            started=datetime.fromisoformat(job["started"]),
            zone=ctx.agency.timezone,
        )
    if polled:
        # Over: the whole page again, now the report (htmx reloads it on this header).
        response = web.Response(text="", content_type="text/html")
        response.headers["HX-Refresh"] = "true"
        return response
    if job["stage"] == roster_jobs.FAILED:
        status = 400 if kind == roster_jobs.PREVIEW else 500
        return _import_page(ctx, status=status, error=job["error"], error_params=job["params"])
    report, name = roster_jobs.report_of(job), str(job["name"])
    if kind == roster_jobs.PREVIEW:
        return _report_page(ctx, report, name, "preview", token if job["good"] else None)
    return _report_page(ctx, report, name, "result")


@routes.get(r"/roster/import/preview/{token:[A-Za-z0-9_-]{1,64}}", name="roster_import_preview")
@page(roles=HR_ROLES)
async def preview_job(ctx: WebContext) -> web.StreamResponse:
    return await _job_page(ctx, roster_jobs.PREVIEW)


@routes.get(r"/roster/import/job/{token:[A-Za-z0-9_-]{1,64}}", name="roster_import_job")
@page(roles=HR_ROLES)
async def import_job(ctx: WebContext) -> web.StreamResponse:
    return await _job_page(ctx, roster_jobs.IMPORT)


# ---------------------------------------------------------------- the roster file out


def _append_rows(sheet: Any, rows: list[list[str]]) -> None:
    for row in rows:
        sheet.append(row)


def _export_name(ctx: WebContext, suffix: str) -> str:
    day = datetime.now(UTC).date().isoformat()
    return f"roster-{re.sub(r'[^A-Za-z0-9_-]', '', ctx.agency.code) or 'abdi'}-{day}.{suffix}"


@routes.get("/roster/export.csv", name="roster_export_csv")
@page(roles=HR_ROLES)
async def export_csv(ctx: WebContext) -> web.StreamResponse:
    ctx.audit("roster.export", format="csv")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{_export_name(ctx, "csv")}"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(ctx.request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(roster.COLUMNS)
    async for batch in roster.export_batches(ctx.session, ctx.agency):
        writer.writerows(batch)
        await response.write(buffer.getvalue().encode())
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        await response.write(buffer.getvalue().encode())
    await response.write_eof()
    return response


@routes.get("/roster/export.xlsx", name="roster_export_xlsx")
@page(roles=HR_ROLES)
async def export_xlsx(ctx: WebContext) -> web.StreamResponse:
    ctx.audit("roster.export", format="xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(roster.COLUMNS))
    async for batch in roster.export_batches(ctx.session, ctx.agency):
        # Building cells is CPU work: off the event loop, a batch at a time.
        await asyncio.to_thread(_append_rows, sheet, batch)
    buffer = io.BytesIO()
    await asyncio.to_thread(book.save, buffer)
    return web.Response(
        body=buffer.getvalue(),
        headers={
            "Content-Type": XLSX_TYPE,
            "Content-Disposition": f'attachment; filename="{_export_name(ctx, "xlsx")}"',
            "Cache-Control": "no-store",
        },
    )
