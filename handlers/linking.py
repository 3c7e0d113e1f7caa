"""Linking a chat account to the roster (shared contact or HR code) and the user's own profile."""

from __future__ import annotations

import re
from enum import StrEnum

from bot.messages import Choice, Reply
from bot.routing import ASN, GUEST, Context, NoDraft, Router, Step
from bot.services.identity import LinkResult, link_by_contact, redeem_within_budget
from storage.models import Employee


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    START = "start"
    PROFILE = "profile"
    CODE = "code"


router = Router("link")
router.menu_entry(Verb.START, "menu.link", roles={GUEST}, order=10)
router.menu_entry(Verb.PROFILE, "menu.profile", roles={ASN}, order=800)


class Link(StrEnum):
    """A chat account links to its employee: a code typed here (a shared phone links anywhere)."""

    CODE = "await_code"


RESULT_KEYS = {
    LinkResult.LINKED: "link.done",
    LinkResult.ALREADY: "link.already",
    LinkResult.NOT_OWN: "link.not_own",
    LinkResult.NO_MATCH: "link.no_match",
    LinkResult.TAKEN: "link.taken",
    LinkResult.INVALID: "link.code_invalid",
    LinkResult.LOCKED: "link.codes_locked",
}


@router.command("hubungkan", "link")
@router.action(Verb.START)
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    if ASN in ctx.roles and ctx.employee is not None:  # ASN: linked to an employee
        return [ctx.main_menu(ctx.t("link.already_linked", name=ctx.employee.name))]
    # The screen offers "enter a code": a code typed right here is taken as one.
    await router.enter(ctx, Link.CODE)
    return [
        Reply(
            ctx.t("link.intro"),
            [Choice(router.payload(Verb.CODE), ctx.t("link.use_code")), ctx.back_to_menu()],
            request_phone=ctx.t("link.share_phone"),
        )
    ]


@router.action(Verb.CODE)
async def ask_code(ctx: Context, args: list[str]) -> list[Reply]:
    if ASN in ctx.roles and ctx.employee is not None:  # ASN: linked to an employee
        return [ctx.main_menu(ctx.t("link.already_linked", name=ctx.employee.name))]
    await router.enter(ctx, Link.CODE)
    return [Reply(ctx.t("link.ask_code"), [ctx.back_to_menu()])]


async def _finish(ctx: Context, result: LinkResult) -> list[Reply]:
    if result in (LinkResult.LINKED, LinkResult.ALREADY):
        await ctx.clear_state()
        employee = ctx.employee
        assert employee is not None
        # Confirmed again after an identity change (WhatsApp): the hold is over.
        ctx.account.reconfirm_employee_id = None
        ctx.roles = {ASN, *employee.role_names}
        return [ctx.main_menu(ctx.t(RESULT_KEYS[result], name=employee.name))]
    return [
        Reply(
            ctx.t(RESULT_KEYS[result]),
            [Choice(router.payload(Verb.CODE), ctx.t("link.use_code")), ctx.back_to_menu()],
            # "Share your own contact": the button that does it is right here again.
            request_phone=ctx.t("link.share_phone") if result is LinkResult.NOT_OWN else None,
        )
    ]


_PHONE = re.compile(r"^\+?[\d\s().-]{9,20}$")


def looks_like_phone(text: str) -> bool:
    """ "0812 3456 7890", "+62 812-3456-7890": 9 to 15 digits, a phone's shape."""
    value = text.strip()
    digits = sum(ch.isdigit() for ch in value)
    return bool(_PHONE.match(value)) and 9 <= digits <= 15


async def receive_code(ctx: Context, text: str) -> list[Reply]:
    if looks_like_phone(text):
        # Not a code (codes have no digits 0 or 1, and are 8 symbols): say so, and offer the
        # way a phone does link, without spending one of the chat's code attempts.
        return [
            Reply(
                ctx.t("link.code_looks_like_phone"),
                [ctx.back_to_menu()],
                request_phone=ctx.t("link.share_phone"),
            )
        ]
    refused = await ctx.too_many("link-code", ctx.settings.link_code_attempts, "link.too_many")
    if refused is not None:
        return [refused]
    result = await redeem_within_budget(
        ctx.session,
        ctx.store,
        ctx.account,
        text[:64],
        budget=ctx.settings.link_code_agency_failures,
    )
    return await _finish(ctx, result)


@router.on_contact
async def contact(ctx: Context) -> list[Reply]:
    """A shared phone outside a step that asks for one: an attempt to link.

    Only a phone the platform proves is the sender's own counts (`shared.user_ref`): Telegram's
    contact of the sender's own user id; on WhatsApp the number of the message's envelope, after
    the user confirmed it (the adapter asks). A WhatsApp contact card proves nothing: its phone
    and wa_id are whatever the sender typed into it, so it arrives without a user_ref.
    """
    shared = ctx.inbound.contact
    assert shared is not None
    return await _finish(
        ctx, await link_by_contact(ctx.session, ctx.account, shared.phone, shared.user_ref)
    )


@router.action(Verb.PROFILE, roles={ASN})
async def profile(ctx: Context, args: list[str]) -> list[Reply]:
    employee = ctx.employee
    assert employee is not None
    supervisor = None
    if employee.supervisor_id:
        boss = await ctx.session.get(Employee, employee.supervisor_id)
        supervisor = boss.name if boss else None
    text = ctx.t(
        "profile.text",
        name=employee.name,
        nip=employee.nip,
        position=employee.position or "-",
        unit=employee.unit.name,
        supervisor=supervisor or "-",
        kind=employee.kind,
    )
    return [Reply(text, [ctx.back_to_menu()])]


router.flow(Link, NoDraft, {Link.CODE: Step(receive_code)})
