"""Signing in without a password: the officer types their NIP, a one-time code goes to their
linked chat account(s) (Telegram, WhatsApp or the console), and the code opens a session.

The answer to a NIP is the same whether or not it may sign in, so the page does not tell a
stranger who works here. Tries are capped per client address and, for codes, per officer.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import delivery
from bot.app import App
from bot.hr_web import context
from bot.hr_web.context import APP_KEY, CONSOLE_ROLES, COOKIE, LANG_COOKIE, address
from bot.i18n import Translator, translator
from bot.services import audit
from bot.services.identity import CODE_ALPHABET
from storage.models import Account, Agency, Employee, LoginCode, WebSession

routes = web.RouteTableDef()
LOGIN_CODE_LENGTH = 6
PRE_COOKIE = "abdi_pre"  # double-submit CSRF token for the forms shown before sign-in


def _clean(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _safe_next(value: str | None) -> str:
    """Only a path of this console may follow sign-in (no open redirect)."""
    if value and value.startswith("/hr/") and not value.startswith("//"):
        return value
    return "/hr/"


def _pre_token(request: web.Request) -> str:
    token = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    request[context.PRE_CSRF] = token
    return token


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/hr/",
        httponly=True,
        samesite="Strict",
        secure=not context.is_local(request),
    )


def _t(request: web.Request) -> Translator:
    app = request.app[APP_KEY]
    return translator(context.request_locale(request, app.settings.default_locale))


def _page(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    t = _t(request)
    token = _pre_token(request)
    response = context.render(request, template, t, status=status, **values)
    _set_cookie(request, response, PRE_COOKIE, token, 3600)
    if request.query.get("lang") in ("id", "en"):
        _set_cookie(request, response, LANG_COOKIE, request.query["lang"], 365 * 86400)
    return response


async def _pre_csrf_ok(request: web.Request) -> bool:
    data = await request.post()
    expected = request.cookies.get(PRE_COOKIE, "")
    return context.csrf_ok(expected, data, request)


async def _too_many(app: App, key: str, limit: int) -> bool:
    return await app.store.hit(f"web:{key}", 3600) > limit


NIP_LENGTH = 18
_SEPARATORS = str.maketrans("", "", " .-")


def well_formed(nip: str) -> bool:
    """18 digits, spaces, dots or dashes between them allowed (as NIPs are often written). A NIP
    not so formed names nobody, so saying so tells nothing about who may sign in."""
    digits = nip.translate(_SEPARATORS)
    return len(digits) == NIP_LENGTH and digits.isascii() and digits.isdigit()


async def _officer(session: AsyncSession, agency: Agency, nip: str) -> Employee | None:
    """The active employee with this NIP who holds a console role, else None."""
    digits = "".join(ch for ch in nip if ch.isdigit())
    if not digits:
        return None
    employee = await session.scalar(
        select(Employee).where(Employee.agency_id == agency.id, Employee.nip == digits)
    )
    if employee is None or employee.status != "active":
        return None
    return employee if employee.role_names & CONSOLE_ROLES else None


def _audit(session: AsyncSession, officer: Employee, action: str, **detail: Any) -> None:
    """A sign-in step in the audit log, with the officer as actor as in the chat."""
    audit.record(
        session,
        actor=f"employee:{officer.id}",
        action=action,
        agency_id=officer.agency_id,
        via="web",
        **detail,
    )


async def _agency(app: App, session: AsyncSession) -> Agency:
    agency = await session.scalar(select(Agency).where(Agency.code == app.settings.agency_code))
    assert agency is not None  # created at start-up (bot.app.create_app)
    return agency


@routes.get("/login", name="login")
async def login_page(request: web.Request) -> web.Response:
    return _page(request, "login.html", next=_safe_next(request.query.get("next")))


@routes.post("/login")
async def ask_code(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    data = await request.post()
    nip = str(data.get("nip", ""))[:40]
    next_path = _safe_next(str(data.get("next", "")))
    if not await _pre_csrf_ok(request):
        return _page(request, "login.html", status=403, error="web.login.expired", next=next_path)
    if await _too_many(app, f"addr:{address(request)}", app.settings.web_address_attempts):
        return _page(request, "login.html", status=429, error="web.login.too_many", next=next_path)
    if not well_formed(nip):
        return _page(
            request, "login.html", status=400, error="web.login.bad_nip", nip=nip, next=next_path
        )
    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session)
        officer = await _officer(session, agency, nip)
        if officer is not None:
            await _send_code(app, session, officer, address(request))
    # The same answer either way: the page does not say whether the NIP may sign in.
    return _page(
        request, "login_code.html", nip="".join(c for c in nip if c.isdigit()), next=next_path
    )


async def _send_code(app: App, session: AsyncSession, officer: Employee, where: str) -> None:
    accounts = list(await session.scalars(select(Account).where(Account.employee_id == officer.id)))
    if not accounts:
        _audit(session, officer, "web.login.no_chat")
        return
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(LOGIN_CODE_LENGTH))
    minutes = app.settings.web_login_code_minutes
    now = datetime.now(UTC)
    # A new code replaces any earlier one still waiting.
    await session.execute(
        update(LoginCode)
        .where(LoginCode.employee_id == officer.id, LoginCode.used_at.is_(None))
        .values(used_at=now)
    )
    session.add(
        LoginCode(
            employee_id=officer.id,
            code_hash=context.token_hash(_clean(raw)),
            address=where,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    for account in accounts:
        await delivery.enqueue(
            session,
            account,
            "web.login.code_message",
            kind="notification",
            source="web_login",
            params={"code": raw, "minutes": minutes},
        )
    _audit(session, officer, "web.login.code_sent", address=where)


@routes.post("/login/code")
async def check_code(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    data = await request.post()
    nip = str(data.get("nip", ""))[:40]
    code = _clean(str(data.get("code", ""))[:40])
    next_path = _safe_next(str(data.get("next", "")))
    values = {"nip": nip, "next": next_path}
    if not await _pre_csrf_ok(request):
        return _page(request, "login.html", status=403, error="web.login.expired", next=next_path)
    if await _too_many(app, f"addr:{address(request)}", app.settings.web_address_attempts):
        return _page(request, "login_code.html", status=429, error="web.login.too_many", **values)
    now = datetime.now(UTC)
    async with app.sessions() as session, session.begin():
        agency = await _agency(app, session)
        officer = await _officer(session, agency, nip)
        if officer is None:
            return _page(
                request, "login_code.html", status=400, error="web.login.bad_code", **values
            )
        if await _too_many(app, f"officer:{officer.id}", app.settings.web_login_attempts):
            _audit(session, officer, "web.login.locked", address=address(request))
            return _page(request, "login_code.html", status=429, error="web.login.locked", **values)
        row = await session.scalar(
            select(LoginCode).where(
                LoginCode.employee_id == officer.id,
                LoginCode.code_hash == context.token_hash(code),
                LoginCode.used_at.is_(None),
                LoginCode.expires_at > now,
            )
        )
        if row is None:
            _audit(session, officer, "web.login.failed", address=address(request))
            return _page(
                request, "login_code.html", status=400, error="web.login.bad_code", **values
            )
        row.used_at = now
        token = context.new_token()
        hours = app.settings.web_session_hours
        session.add(
            WebSession(
                token_hash=context.token_hash(token),
                employee_id=officer.id,
                agency_id=agency.id,
                csrf=context.new_token(),
                locale=_t(request).locale,
                address=address(request),
                expires_at=now + timedelta(hours=hours),
            )
        )
        _audit(session, officer, "web.login", address=address(request))
    response = context.redirect(next_path)
    _set_cookie(request, response, COOKIE, token, hours * 3600)
    response.del_cookie(PRE_COOKIE, path="/hr/")
    return response


@routes.post("/logout", name="logout")
@context.form(roles=CONSOLE_ROLES)
async def logout(ctx: context.WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    ctx.web_session.ended_at = datetime.now(UTC)
    ctx.audit("web.logout")
    response = context.redirect(ctx.request.app.router["login"].url_for())
    response.del_cookie(COOKIE, path="/hr/")
    return response


@routes.post("/language")
@context.form(roles=CONSOLE_ROLES)
async def language(ctx: context.WebContext, data: MultiDictProxy[Any]) -> web.StreamResponse:
    chosen = str(data.get("lang", ""))
    if chosen in ("id", "en"):
        ctx.web_session.locale = chosen
    referer = ctx.request.headers.get("Referer", "")
    path = "/hr/" + referer.split("/hr/", 1)[1] if "/hr/" in referer else "/hr/"
    return context.redirect(_safe_next(path))
