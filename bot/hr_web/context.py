"""What every console page shares: the signed-in officer's unit of work, roles, CSRF, rendering
and the audit log.

A page is `@page(roles=...)` (GET) or `@form(roles=...)` (POST, CSRF checked). Either runs the
handler inside one database transaction with a `WebContext`; no session or a role the chat would
not allow ends in the login page or a 403 page, never in the handler.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import App
from bot.i18n import Translator, translator
from bot.services import audit
from bot.services.four_in_one.rules import STAFF_ROLES
from storage.models import Agency, Employee, WebSession

APP_KEY = web.AppKey("abdi_app", App)
PRE_CSRF = web.RequestKey("pre_csrf", str)  # the token of a form shown before sign-in
COOKIE = "abdi_hr"
LANG_COOKIE = "abdi_lang"
HR_ROLES = frozenset({"hr"})
DESK_ROLES = frozenset(STAFF_ROLES)  # the 4-in-1 desk: officers and liaisons, as in chat
CONSOLE_ROLES = HR_ROLES | DESK_ROLES  # who may sign in at all


@dataclass(frozen=True)
class NavEntry:
    path: str  # under /hr/
    label: str  # catalog id
    roles: frozenset[str]


# The console's pages, in menu order; each page module declares its routes under these paths.
NAV: tuple[NavEntry, ...] = (
    NavEntry("", "web.nav.overview", HR_ROLES),
    NavEntry("roster", "web.nav.roster", HR_ROLES),
    NavEntry("periods", "web.nav.periods", HR_ROLES),
    NavEntry("broadcasts", "web.nav.broadcasts", HR_ROLES),
    NavEntry("desk", "web.nav.desk", DESK_ROLES),
    NavEntry("audit", "web.nav.audit", HR_ROLES),
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


LOOPBACK = {"127.0.0.1", "::1"}


def address(request: web.Request) -> str:
    """The client's address: the peer's, or the X-Real-IP that the proxy on this host sets
    (deploy/nginx/abdi.conf overwrites it; trusted only from the loopback, so a client far away
    cannot choose the address its tries are counted against)."""
    peer = request.remote or ""
    forwarded = request.headers.get("X-Real-IP", "").strip()
    return (forwarded if peer in LOOPBACK and forwarded else peer)[:64]


def is_local(request: web.Request) -> bool:
    return request.host.split(":")[0] in {"localhost", "127.0.0.1", "[::1]"}


@dataclass
class WebContext:
    """One request of a signed-in officer: one unit of work, as a chat update is."""

    request: web.Request
    app: App
    session: AsyncSession
    web_session: WebSession
    employee: Employee
    agency: Agency
    t: Translator
    roles: frozenset[str]

    @property
    def actor(self) -> str:
        """The same actor the chat's audit rows name for this officer."""
        return f"employee:{self.employee.id}"

    @property
    def csrf(self) -> str:
        return self.web_session.csrf

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    def audit(self, action: str, target: str | None = None, **detail: Any) -> None:
        """An audit row in this request's unit of work; `detail.via` says it came from the web."""
        audit.record(
            self.session,
            actor=self.actor,
            action=action,
            agency_id=self.agency.id,
            target=target,
            via="web",
            **detail,
        )

    def render(self, template: str, status: int = 200, **values: Any) -> web.Response:
        return render(self.request, template, self.t, status=status, ctx=self, **values)


BAD_PAGE = "web.bad_page"  # the one answer of every list to a page number that is not one


def page_asked(request: web.Request, name: str = "page") -> int | None:
    """The 1-based page a list's `?page=` (or `?<name>=`, for a page's second list) asks for:
    1 when absent, None when it is not a whole number from 1 (the list then answers 400 with
    its first page and `BAD_PAGE`)."""
    raw = request.query.get(name, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or len(raw) > 9 or int(raw) < 1:
        return None
    return int(raw)


@dataclass(frozen=True)
class Paging:
    """Where a list is: a page past the last is the last page (never "page 99999 of 1")."""

    current: int
    last: int
    total: int
    size: int

    @classmethod
    def of(cls, asked: int, total: int, size: int) -> Paging:
        last = max(1, -(-total // size))
        return cls(min(max(asked, 1), last), last, total, size)

    @property
    def offset(self) -> int:
        return (self.current - 1) * self.size


def nav_for(roles: frozenset[str]) -> list[NavEntry]:
    return [entry for entry in NAV if entry.roles & roles]


def render(
    request: web.Request,
    template: str,
    t: Translator,
    *,
    status: int = 200,
    ctx: WebContext | None = None,
    **values: Any,
) -> web.Response:
    """A template rendered in the officer's language; pages get `t`, `ctx`, `nav` and `csrf`."""
    nav = nav_for(ctx.roles) if ctx else []
    csrf = ctx.csrf if ctx else request.get(PRE_CSRF, "")
    response = aiohttp_jinja2.render_template(
        template,
        request,
        {"t": t, "ctx": ctx, "nav": nav, "csrf": csrf, "lang": t.locale, **values},
        status=status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def request_locale(request: web.Request, default: str) -> str:
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in ("id", "en"):
        return chosen
    accept = request.headers.get("Accept-Language", "")
    return "en" if accept.lower().startswith("en") else default


def redirect(location: object) -> web.Response:
    """303 to `location`, returned (not raised) so the request's transaction still commits."""
    return web.Response(status=303, headers={"Location": str(location)})


def to_login(request: web.Request) -> web.Response:
    """Back to the sign-in page; an htmx request is told to navigate there itself."""
    target = request.app.router["login"].url_for().with_query(next=request.path_qs)
    if request.headers.get("HX-Request"):
        return web.Response(status=401, headers={"HX-Redirect": str(target)})
    return redirect(target)


async def signed_in(request: web.Request, session: AsyncSession) -> WebSession | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= datetime.now(UTC):
        return None
    return row


Handler = Callable[[WebContext], Awaitable[web.StreamResponse]]
FormHandler = Callable[[WebContext, MultiDictProxy[Any]], Awaitable[web.StreamResponse]]


async def _with_context(
    request: web.Request, roles: frozenset[str], run: Callable[[WebContext], Awaitable[Any]]
) -> web.StreamResponse:
    app = request.app[APP_KEY]
    async with app.sessions() as session, session.begin():
        row = await signed_in(request, session)
        if row is None:
            return to_login(request)
        employee = await session.get(Employee, row.employee_id)
        agency = await session.get(Agency, row.agency_id)
        t = translator(row.locale)
        if employee is None or agency is None or employee.status != "active":
            return to_login(request)
        # Roles are read again on every request: a revoked role ends access at once.
        held = frozenset(employee.role_names) & CONSOLE_ROLES
        if not held:
            return to_login(request)
        ctx = WebContext(request, app, session, row, employee, agency, t, held)
        if not held & roles:
            return ctx.render("forbidden.html", status=403)
        result: web.StreamResponse = await run(ctx)
        return result


def page(*, roles: Iterable[str]) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """A GET page for an officer holding one of `roles`."""
    allowed = frozenset(roles)

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[Any]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await _with_context(request, allowed, handler)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def csrf_ok(expected: str, data: MultiDictProxy[Any], request: web.Request) -> bool:
    given = data.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given, expected)


def form(
    *, roles: Iterable[str]
) -> Callable[[FormHandler], Callable[[web.Request], Awaitable[Any]]]:
    """A POST for an officer holding one of `roles`; a missing or wrong CSRF token is refused
    with 403 before the handler runs."""
    allowed = frozenset(roles)

    def wrap(handler: FormHandler) -> Callable[[web.Request], Awaitable[Any]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            data = await request.post()

            async def run(ctx: WebContext) -> web.StreamResponse:
                if not csrf_ok(ctx.csrf, data, request):
                    return ctx.render("forbidden.html", status=403, reason="csrf")
                return await handler(ctx, data)

            return await _with_context(request, allowed, run)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap
