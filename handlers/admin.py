"""HR account desk in chat: find an employee, issue a link code, unlink a chat account."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select

from bot.messages import Channel, Choice, Reply
from bot.routing import HR, ID, WORD, Context, NoDraft, Router, Step
from bot.services import audit
from bot.services.identity import create_link_code, may_link, unlink
from bot.services.staff_search import matching
from storage.models import Account, Employee

CHANNEL_NAMES = frozenset(c.value for c in Channel)


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    ACCOUNTS = "accounts"
    SHOW = "show"
    CODE = "code"
    UNLINK = "unlink"
    UNLINK_OK = "unlinkok"


router = Router("admin")
router.menu_entry(Verb.ACCOUNTS, "menu.accounts", roles={HR}, order=500, section="hr")
MAX_MATCHES = 8


class Accounts(StrEnum):
    """HR finds an employee's chat accounts: a name or NIP, then the employee's card."""

    QUERY = "await_query"


async def _employee(ctx: Context, raw_id: str) -> Employee | None:
    """The employee a payload names, only if it is in the HR user's own agency."""
    if not raw_id.isdigit():
        return None
    employee = await ctx.session.get(Employee, int(raw_id))
    if employee is None or employee.agency_id != ctx.agency.id:
        return None
    return employee


@router.action(Verb.ACCOUNTS, roles={HR})
async def ask(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Accounts.QUERY)
    return [Reply(ctx.t("admin.ask_employee"), [ctx.back_to_menu()])]


async def search(ctx: Context, text: str) -> list[Reply]:
    matches = list(
        await ctx.session.scalars(
            select(Employee)
            .where(matching(ctx.agency.id, text))
            .order_by(Employee.name)
            .limit(MAX_MATCHES + 1)
        )
    )
    if not matches:
        return [Reply(ctx.t("admin.not_found"), [ctx.back_to_menu()])]
    if len(matches) == 1:
        return await _card(ctx, matches[0])
    lead = ctx.t("admin.many_found") if len(matches) > MAX_MATCHES else ctx.t("admin.pick")
    choices = [Choice(router.payload(Verb.SHOW, e.id), e.name) for e in matches[:MAX_MATCHES]]
    return [Reply(lead, [*choices, ctx.back_to_menu()])]


@router.action(Verb.SHOW, roles={HR}, args=(ID,))
async def show(ctx: Context, args: list[str]) -> list[Reply]:
    employee = await _employee(ctx, args[0])
    if employee is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return await _card(ctx, employee)


async def _card(ctx: Context, employee: Employee) -> list[Reply]:
    await ctx.clear_state()
    accounts = list(
        await ctx.session.scalars(select(Account).where(Account.employee_id == employee.id))
    )
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="employee.view",
        agency_id=ctx.agency.id,
        target=f"employee:{employee.id}",
    )
    channels = ", ".join(sorted(_channel(ctx, a.channel) for a in accounts))
    channels = channels or ctx.t("admin.no_accounts")
    text = ctx.t(
        "admin.card",
        name=employee.name,
        nip=employee.nip,
        unit=employee.unit.name,
        channels=channels,
    )
    choices: list[Choice] = []
    if may_link(employee):
        choices.append(Choice(router.payload(Verb.CODE, employee.id), ctx.t("admin.make_code")))
    else:
        text += "\n" + ctx.t(f"admin.status.{employee.status}")
    choices += [
        Choice(
            router.payload(Verb.UNLINK, employee.id, a.channel),
            ctx.t("admin.unlink", channel=_channel(ctx, a.channel)),
        )
        for a in accounts
    ]
    return [Reply(text, [*choices, ctx.back_to_menu()])]


@router.action(Verb.CODE, roles={HR}, args=(ID,))
async def make_code(ctx: Context, args: list[str]) -> list[Reply]:
    employee = await _employee(ctx, args[0])
    if employee is None or not may_link(employee):
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    ttl = timedelta(minutes=ctx.settings.link_code_ttl_minutes)
    code, _expires = await create_link_code(ctx.session, employee, ttl, ctx.actor)
    hours = max(1, ctx.settings.link_code_ttl_minutes // 60)
    return [
        Reply(ctx.t("admin.code", name=employee.name, code=code, hours=hours), [ctx.back_to_menu()])
    ]


@router.action(Verb.UNLINK, roles={HR}, args=(ID, WORD))
async def ask_unlink(ctx: Context, args: list[str]) -> list[Reply]:
    employee = await _employee(ctx, args[0])
    if employee is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    text = ctx.t("admin.confirm_unlink", name=employee.name, channel=_channel(ctx, args[1]))
    yes = Choice(router.payload(Verb.UNLINK_OK, employee.id, args[1]), ctx.t("admin.yes_unlink"))
    return [
        Reply(
            text,
            [yes, Choice(router.payload(Verb.SHOW, employee.id), ctx.t("button.back"), nav="back")],
        )
    ]


@router.action(Verb.UNLINK_OK, roles={HR}, args=(ID, WORD))
async def do_unlink(ctx: Context, args: list[str]) -> list[Reply]:
    employee = await _employee(ctx, args[0])
    if employee is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    count = await unlink(ctx.session, employee, ctx.actor, channel=args[1])
    key = "admin.unlinked" if count else "admin.nothing_unlinked"
    return [ctx.main_menu(ctx.t(key, name=employee.name, channel=_channel(ctx, args[1])))]


def _channel(ctx: Context, code: str) -> str:
    """A channel as people call it ("obrolan terminal", not "console"); an unknown code as is."""
    return ctx.t(f"channel.{code}") if code in CHANNEL_NAMES else code


router.flow(Accounts, NoDraft, {Accounts.QUERY: Step(search, roles={HR})})
