"""What the 4-in-1 screens share: the router, its payload verbs and small helpers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.messages import Choice, Reply
from bot.routing import ASN, FAMILY, GUEST, Context, Draft, Expect, Router
from bot.services import four_in_one as cases
from bot.services.four_in_one import DESK_ROLES, STAFF_ROLES
from storage.models import FourInOneCase

router = Router("case")
EVERYONE = {GUEST, ASN, FAMILY, *STAFF_ROLES}
_FAMILY_OR_STAFF = {FAMILY, *STAFF_ROLES}
PAGE = 8
MAX_DAYS_AGO = 60


class Verb(StrEnum):
    """The payload verbs of the case router ("case:<verb>[:<arg>...]"), as stored in buttons."""

    START = "start"
    # The report form
    NEW = "new"
    UNIT_PICK = "unitpick"
    DAY = "day"
    NO_TIME = "notime"
    TIME_HALF = "timehalf"  # one of the two readings of an hour asked back
    RELATION = "rel"
    EDIT = "edit"
    EDIT_STEP = "editstep"
    SEND = "send"
    # Tracking, the family's side
    TRACK = "track"
    CODE = "code"
    FOLLOW = "follow"
    RECEIVED = "received"
    RECEIVED_OK = "receivedok"
    RIGHTS = "rights"  # what the family is entitled to, for a followed case
    ASK = "ask"  # the family writes to the desk ("Tanya petugas")
    ASK_SEND = "asksend"
    QUESTIONS = "questions"  # the desk's open questions
    QUESTION = "question"
    ANSWER_SEND = "answersend"
    # The officers' desk
    QUEUE = "queue"
    PAGE = "page"
    DUPLICATES = "dups"
    REPORT = "report"
    SHOW = "show"
    DOC = "doc"
    SET_STATUS = "set"
    NO_NOTE = "nonote"
    MERGE = "dupmerge"
    MERGE_OK = "dupmergeok"
    REJECT = "dupreject"
    REJECT_OK = "duprejectok"
    MATCH = "match"
    MATCH_OK = "matchyes"
    MORE = "more"
    NEW_CODE = "newcode"
    ATTACH = "attach"
    CANCEL = "cancel"
    CANCEL_OK = "cancelok"
    REOPEN = "reopen"
    REOPEN_OK = "reopenok"
    HANDED = "handed"
    HANDED_OK = "handedok"
    HANDOVER = "handover"
    KEEP_TIME = "hkeep"
    HANDOVER_HALF = "hhalf"  # one reading of an hour that may be morning or evening
    KEEP_PLACE = "hplace"


# One entry for everyone (menus hold ten buttons): staff land in their queue, anyone else starts
# a report. A family that follows a live case sees that case first, under its own name, in any
# new session (FAMILY comes with the account query: no query of its own).
router.menu_entry("start", "menu.case", roles=EVERYONE, order=300, hidden_for=_FAMILY_OR_STAFF)
router.menu_entry("start", "menu.case", roles=STAFF_ROLES, order=300)
router.menu_entry(Verb.TRACK, "menu.family_case", roles={FAMILY}, order=5, hidden_for=STAFF_ROLES)


class CaseDraft(Draft):
    """A desk step about one case: the case travels with the step, and is re-read each time."""

    case_id: int


router.role_condition(FAMILY)(cases.follows_a_case)


def is_staff(ctx: Context) -> bool:
    return ctx.has_any(STAFF_ROLES)


def at_desk(ctx: Context) -> bool:
    return ctx.has_any(DESK_ROLES)


def zone(ctx: Context) -> str:
    return ctx.agency.timezone


def now_local(ctx: Context) -> datetime:
    return datetime.now(ZoneInfo(zone(ctx)))


def today(ctx: Context) -> date:
    return now_local(ctx).date()


def reply(ctx: Context, text: str, *choices: Choice, expects_text: bool = False) -> list[Reply]:
    return [Reply(text, [*choices, ctx.back_to_menu()], expects_text=expects_text)]


def stale(ctx: Context) -> list[Reply]:
    return [ctx.main_menu(ctx.t("error.stale_button"))]


async def ask(
    ctx: Context, step: StrEnum, key: str, draft: Draft | None, *choices: Choice
) -> list[Reply]:
    """Move to the next question; the answers so far travel in the step's draft."""
    return await ask_text(ctx, step, ctx.t(key), draft, *choices)


async def ask_text(
    ctx: Context, step: StrEnum, text: str, draft: Draft | None, *choices: Choice
) -> list[Reply]:
    await router.enter(ctx, step, draft)
    expects_text = Expect.BARE_NUMBER in router.step(step).expects
    return reply(ctx, text, *choices, expects_text=expects_text)


def remember_language(ctx: Context) -> None:
    """Notifications are rendered from the account's language, not from the platform's hint on
    a message: a family who asks to be told is told in the language they are reading now."""
    if ctx.account.locale is None:
        ctx.account.locale = ctx.t.locale


def confirm(
    ctx: Context, case_id: int, question: str, verb: Verb, yes: str, *args: object
) -> list[Reply]:
    """A change to a case asked once more, naming the case: yes, or back to the case's card."""
    return reply(
        ctx,
        question,
        Choice(router.payload(verb, case_id, *args), ctx.t(yes)),
        back_to_card(ctx, case_id),
    )


def back_to_card(ctx: Context, case_id: int) -> Choice:
    return Choice(router.payload(Verb.SHOW, case_id), ctx.t("button.back"), nav="back")


async def followed_case(ctx: Context, raw: str) -> FourInOneCase | None:
    """The case a payload names, only if this chat follows it."""
    followed = {c.id: c for c in await cases.cases_of_account(ctx.session, ctx.account)}
    return followed.get(int(raw)) if raw.isdigit() else None
