"""Routes one neutral Inbound to a handler: dedup, identity, locale, state, roles, then the route.

Everything runs in one unit of work per event, the de-duplication claim included: an event whose
handling fails leaves no claim behind, so the platform's redelivery (or a replayed dead letter)
is handled, not skipped. Bad input gets an answer, never an exception; a dependency that is down
(database, state store) raises `Unavailable` from `take`, so a channel can leave the event
unacknowledged for the platform to send again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from bot import metrics
from bot.config import Settings
from bot.i18n import LOCALES, resolve_locale, translator
from bot.messages import Inbound, Reply
from bot.outage import is_outage
from bot.routing import (
    ASN,
    GUEST,
    Context,
    Expect,
    Expired,
    MenuEntry,
    RoleCondition,
    Router,
    StepSpec,
    parse_args,
)
from bot.services.agencies import ensure_default_agency
from bot.services.privacy_notice import NOTICES, Notices
from storage.models import Account, Agency, Employee, InboundEvent
from storage.state import StateStore

log = logging.getLogger("abdi.dispatcher")
# The account, then one flag per role condition (Dispatcher._account_query).
AccountQuery = Select[Account, *tuple[bool, ...]]
AccountRow = Row[Account, *tuple[bool, ...]]
INBOUND_RESOLUTION = timedelta(minutes=1)  # last_inbound_at precision (WhatsApp's 24 h window)


# The claim of an event id, built once per dialect (building costs more than running it): on the
# table, not the ORM class, so no ORM bookkeeping runs for a row nothing reads back.
_INBOUND_EVENTS = InboundEvent.metadata.tables[InboundEvent.__tablename__]
_CLAIMS = {
    "postgresql": pg_insert(_INBOUND_EVENTS).on_conflict_do_nothing(),
    "sqlite": sqlite_insert(_INBOUND_EVENTS).on_conflict_do_nothing(),
}


class Unavailable(Exception):
    """A dependency is down: the event was not taken (nothing of it was stored); retry later."""


class _StaleConnection(Exception):
    """The unit of work's first statements met a dead connection: nothing of the event ran."""


def _clean_text(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    # NUL and other C0 controls break databases and terminals; keep newlines and tabs.
    cleaned = "".join(ch for ch in text if ch >= " " or ch in "\n\t")
    return cleaned[:limit].strip()


def _plain_words() -> dict[str, str]:
    """Plain words of every language (from the catalogs) -> the core command they stand for."""
    words: dict[str, str] = {}
    for code in LOCALES:
        t = translator(code)
        listed = {
            "start": t("words.start"),
            "menu": t("words.menu"),
            "bantuan": t("words.help"),
            "batal": t("words.cancel"),
        }
        for command, text in listed.items():
            words.update((w.strip().casefold(), command) for w in text.split(",") if w.strip())
    return words


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        store: StateStore,
        settings: Settings,
        routers: Sequence[Router],
        home: Router,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.settings = settings
        self.home = home
        self.routers = {r.name: r for r in routers}
        self.routers[home.name] = home
        self.commands = {}
        for router in [*routers, home]:  # home last: the core commands win every clash
            self.commands.update(router.commands)
        self.menu: list[MenuEntry] = sorted(
            (e for r in self.routers.values() for e in r.menu), key=lambda e: e.order
        )
        self.words = _plain_words()
        # Roles held by a SQL condition on the account row (evaluated with the account's query).
        self.grants: list[tuple[str, RoleCondition]] = [
            grant for router in self.routers.values() for grant in router.role_conditions
        ]
        self._account_select: tuple[list[ColumnElement[bool]], AccountQuery] | None = None
        self._default_agency_id: int | None = None
        self._agencies: dict[int, Agency] = {}
        self.notices: Notices = NOTICES

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Handle an event and always answer: a dependency outage becomes a polite line.

        For channels that cannot have the event sent again (the console, scripts)."""
        try:
            return await self.take(inbound)
        except Unavailable:
            return [
                Reply(translator(resolve_locale(None, inbound.language_hint))("error.unavailable"))
            ]

    async def take(self, inbound: Inbound) -> list[Reply]:
        """Handle an event once; raise Unavailable (nothing stored) when a dependency is down."""
        started = time.perf_counter()
        outcome = metrics.UpdateOutcome.FAILED
        try:
            try:
                outcome, replies = await self._handle_once(inbound)
            except IntegrityError:
                # Two first messages of a new user raced to create the account: the retry sees it.
                outcome, replies = await self._handle_once(inbound)
            except _StaleConnection:
                # The pool handed out a connection the database had dropped (a restart) and the
                # unit of work's first statement found out: nothing ran, run it on a new one.
                outcome, replies = await self._handle_once(inbound)
            return replies
        except _StaleConnection as exc:  # twice: the database is not back
            outcome = metrics.UpdateOutcome.UNAVAILABLE
            log.warning("dependency unavailable: %s", type(exc.__cause__).__name__)
            raise Unavailable(type(exc.__cause__).__name__) from exc
        except Unavailable:
            outcome = metrics.UpdateOutcome.UNAVAILABLE
            raise
        except Exception as exc:
            if is_outage(exc):
                outcome = metrics.UpdateOutcome.UNAVAILABLE
                log.warning("dependency unavailable: %s", type(exc).__name__)
                raise Unavailable(type(exc).__name__) from exc
            raise
        finally:
            metrics.handled(str(inbound.channel), outcome, time.perf_counter() - started)

    async def _claim(self, session: AsyncSession, inbound: Inbound) -> bool:
        """Claim the event id inside the event's unit of work: False if it was handled before.

        The claim commits with the handling or not at all, so a failure never leaves a claim
        that would make the platform's retry look like a duplicate."""
        if inbound.event_id is None:
            return True
        event_id = f"{inbound.channel.value}:{inbound.event_id}"[:160]
        claim = _CLAIMS[session.get_bind().dialect.name]
        result = await session.execute(claim, {"event_id": event_id})
        return bool(getattr(result, "rowcount", 1))

    async def _handle_once(self, inbound: Inbound) -> tuple[metrics.UpdateOutcome, list[Reply]]:
        text = _clean_text(inbound.text, self.settings.max_text_length)
        try:
            async with self.sessions() as session, session.begin():
                try:
                    claimed = await self._claim(session, inbound)
                    row = await self._account_row(session, inbound) if claimed else None
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise _StaleConnection from exc
                    raise
                if not claimed:
                    log.info("duplicate event skipped", extra={"channel": inbound.channel})
                    return metrics.UpdateOutcome.DUPLICATE, []
                ctx = await self._context(session, inbound, row)
                replies = await self._route(ctx, text)
                limit = self.settings.max_text_length
                if replies and inbound.text and len(inbound.text) > limit:
                    # Say what was read, so a long draft is not judged on a silent cut.
                    notice = ctx.t("error.truncated", limit=limit)
                    replies[0].text = f"{notice}\n\n{replies[0].text}"
                privacy = self._notice(ctx) if replies else None
                if privacy is not None:
                    replies.insert(0, privacy)
                for reply in replies:  # adapters' own words (list buttons) match the text
                    reply.locale = reply.locale or ctx.t.locale
                return metrics.UpdateOutcome.HANDLED, replies
        except (IntegrityError, _StaleConnection):
            raise
        except Exception as exc:
            if is_outage(exc):
                raise
            log.exception("handler failed")
            t = translator(resolve_locale(None, inbound.language_hint))
            return metrics.UpdateOutcome.FAILED, [Reply(t("error.internal"))]

    def _account_query(self) -> AccountQuery:
        """The chat's account with its employee, roles and every role condition: one query.

        Built again only when a condition is (a new guidance version): building a statement
        costs more than running it."""
        conditions = [condition() for _, condition in self.grants]
        cached = self._account_select
        if cached is None or any(a is not b for a, b in zip(cached[0], conditions, strict=True)):
            flags = [condition.label(f"role_{i}") for i, condition in enumerate(conditions)]
            query: AccountQuery = (
                select(Account, *flags)
                .where(
                    Account.channel == bindparam("channel"),
                    Account.user_ref == bindparam("user_ref"),
                )
                .options(joinedload(Account.employee).joinedload(Employee.roles))
            )
            cached = self._account_select = (conditions, query)
        return cached[1]

    async def _account_row(self, session: AsyncSession, inbound: Inbound) -> AccountRow | None:
        keys = {"channel": inbound.channel.value, "user_ref": inbound.user_ref}
        return (await session.execute(self._account_query(), keys)).unique().first()

    async def _context(
        self, session: AsyncSession, inbound: Inbound, row: AccountRow | None
    ) -> Context:
        account: Account | None = None
        granted: set[str] = set()  # a new account: nothing in the database refers to it yet
        if row is not None:
            account = row[0]
            granted = {role for (role, _), held in zip(self.grants, row[1:], strict=True) if held}
        now = datetime.now(UTC)
        if account is None:
            account = Account(
                agency_id=await self._default_agency(session),
                channel=inbound.channel.value,
                user_ref=inbound.user_ref,
                chat_ref=inbound.chat_ref,
            )
            session.add(account)
            await session.flush()
        # Write only what changed: a row update per message would cost more than the rest.
        if account.chat_ref != inbound.chat_ref:
            account.chat_ref = inbound.chat_ref
        if account.last_inbound_at is None or now - account.last_inbound_at > INBOUND_RESOLUTION:
            account.last_inbound_at = now
        if not account.reachable:
            account.reachable = True
        agency = await self._agency(session, account.agency_id)
        locale = resolve_locale(account.locale, inbound.language_hint, self.settings.default_locale)
        ctx = Context(
            inbound=inbound,
            session=session,
            account=account,
            agency=agency,
            t=translator(locale),
            store=self.store,
            settings=self.settings,
            state=await self.store.get(f"{account.channel}:{account.user_ref}"),
            menu_entries=self.menu,
        )
        ctx.roles = self._roles(account, granted)
        return ctx

    def _notice(self, ctx: Context) -> Reply | None:
        """The short privacy notice, once per notice version: its own reply before the answer.

        Compared with the account row already loaded, so it costs no query per update."""
        version = self.notices.version
        account = ctx.account
        if account.notice_version is not None and account.notice_version >= version:
            return None
        account.notice_version = version
        account.notice_seen_at = datetime.now(UTC)
        notice = self.notices.notice(ctx.t.locale)
        return Reply(notice.short_for(ctx.agency.name))

    async def _agency(self, session: AsyncSession, agency_id: int) -> Agency:
        """Agencies change rarely (a restart picks up edits); read each once per process."""
        agency = self._agencies.get(agency_id)
        if agency is None:
            agency = await session.get(Agency, agency_id)
            assert agency is not None
            session.expunge(agency)
            self._agencies[agency_id] = agency
        return agency

    async def _default_agency(self, session: AsyncSession) -> int:
        if self._default_agency_id is None:
            self._default_agency_id = (await ensure_default_agency(session, self.settings)).id
        return self._default_agency_id

    @staticmethod
    def _roles(account: Account, granted: set[str]) -> set[str]:
        employee = account.employee
        roles = {GUEST}
        if employee is not None and employee.status == "active":
            roles = {ASN, *employee.role_names}
        return roles | granted

    async def _route(self, ctx: Context, text: str | None) -> list[Reply]:
        try:
            return await self._route_inbound(ctx, text)
        except Expired:
            # A draft this release cannot read: the same answer as a step that no longer exists.
            await ctx.clear_state()
            return [ctx.main_menu(ctx.t("error.expired"))]

    async def _route_inbound(self, ctx: Context, text: str | None) -> list[Reply]:
        inbound = ctx.inbound
        state = ctx.state.name if ctx.state else None
        step = self._step(state) if state else None
        if inbound.contact is not None:
            # A step that asks for a phone takes a shared contact as the answer (not as linking).
            if step is not None and Expect.CONTACT in step.expects:
                return await self._answer(ctx, step, inbound.contact.phone)
            for router in self.routers.values():
                if router.contact_handler is not None:
                    return await router.contact_handler(ctx)
        if inbound.action is not None:
            return await self._route_action(ctx, inbound.action)
        command = inbound.command
        if command is None and state is None and text:
            # "halo", "menu", "batal": what people type on WhatsApp, where no slash is offered.
            command = self.words.get(text.rstrip("!.?").strip().casefold())
        if command is not None:
            found = self.commands.get(command)
            if found is None:
                return [ctx.main_menu(ctx.t("error.unknown_command", command=command[:32]))]
            handler, roles = found
            if roles is not None and not (roles & ctx.roles):
                return [ctx.main_menu(ctx.t("error.not_allowed"))]
            return await handler(ctx, [inbound.argument] if inbound.argument else [])
        if state is not None:
            if step is None or step.handler is None:
                # A step of an older release, or one answered with its buttons only.
                await ctx.clear_state()
                return [ctx.main_menu(ctx.t("error.expired"))]
            takes_file = Expect.FILE in step.expects
            if takes_file and inbound.media is not None and inbound.attachment is None:
                ctx.inbound = await self._fetched(inbound)
                if ctx.inbound.attachment is None and not text:
                    return [Reply(ctx.t("error.file_not_received"), [ctx.back_to_menu()])]
            if not text and not (takes_file and ctx.inbound.attachment is not None):
                return [Reply(ctx.t("error.need_text"), [ctx.back_to_menu()])]
            return await self._answer(ctx, step, text or "")
        if not text:
            return [ctx.main_menu(ctx.t("error.unsupported"))]
        free_text = self.home.free_text
        if free_text is not None:  # words typed on a screen that asked for none (handlers/home.py)
            return await free_text(ctx, text)
        return [ctx.main_menu(ctx.t("error.unknown_text"))]

    @staticmethod
    async def _fetched(inbound: Inbound) -> Inbound:
        """The inbound with its media downloaded, where the media is a file a step can take."""
        media = inbound.media
        if media is None or not media.usable:
            return inbound
        return replace(inbound, attachment=await media.fetch())

    def _step(self, state: str) -> StepSpec | None:
        """The declared step a stored state names ("<router>:<step>"), if it still exists."""
        router = self.routers.get(state.split(":", 1)[0])
        return router.steps.get(state) if router is not None else None

    @staticmethod
    async def _answer(ctx: Context, step: StepSpec, text: str) -> list[Reply]:
        """The step's handler, if the user may answer it; otherwise the step is left."""
        if step.roles is not None and not (step.roles & ctx.roles):
            await ctx.clear_state()
            return [ctx.main_menu(ctx.t("error.not_allowed"))]
        assert step.handler is not None
        return await step.handler(ctx, text)

    async def _route_action(self, ctx: Context, payload: str) -> list[Reply]:
        parts = payload.split(":")
        router = self.routers.get(parts[0])
        spec = router.actions.get(parts[1]) if router and len(parts) > 1 else None
        args = parse_args(spec.kinds, parts[2:]) if spec is not None else None
        if spec is None or args is None:
            # Old buttons and forged payloads alike: a stale-button answer, never an error.
            log.warning("unknown action payload", extra={"router": parts[0][:16]})
            return [ctx.main_menu(ctx.t("error.stale_button"))]
        if spec.roles is not None and not (spec.roles & ctx.roles):
            return [ctx.main_menu(ctx.t("error.not_allowed"))]
        if spec.states is not None and (ctx.state is None or ctx.state.name not in spec.states):
            return [ctx.main_menu(ctx.t("error.stale_button"))]
        return await spec.handler(ctx, args)
