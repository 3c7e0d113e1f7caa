"""Rating colleagues (pick from one's circle, score each criterion, comment, confirm) and, for HR,
opening, closing and publishing quarters. Every step re-checks period and circle in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from pydantic import Field

from bot import dates
from bot.messages import Choice, Reply
from bot.routing import ASN, HR, ID, NUM, Context, Draft, Expect, NoDraft, Router, Step
from bot.services import periods, rating
from bot.services.periods import PeriodRefused, QuarterRef
from bot.services.rating import RatingRefused
from bot.services.rating_scheme import Scheme, load_scheme
from bot.services.standings import awards, shown_award_scores
from storage.models import Employee, RatingPeriod


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    START = "start"
    PERIODS = "periods"
    PICK = "pick"
    PAGE = "page"
    SEARCH = "search"
    SCORE = "score"
    SKIP = "skip"
    SAVE = "save"
    OPEN = "open"
    CLOSE = "close"
    PUBLISH = "publish"
    OPEN_OK = "openok"
    CLOSE_OK = "closeok"
    PUBLISH_OK = "publishok"


router = Router("rating")
router.menu_entry(Verb.START, "menu.rate", roles={ASN}, order=200)
router.menu_entry(Verb.PERIODS, "menu.periods", roles={HR}, order=520, section="hr")


class Search(StrEnum):
    """A colleague looked up by name in one's circle."""

    NAME = "search"


class Rate(StrEnum):
    """Rating one colleague: a score per criterion, an optional comment, then the summary."""

    SCORE = "rate"
    COMMENT = "rate_comment"
    CONFIRM = "rate_confirm"


class RateDraft(Draft):
    period: int
    ratee: int
    scores: dict[str, int] = Field(
        default_factory=dict
    )  # criterion -> score, in the scheme's order
    comment: str | None = None


def _local(ctx: Context, moment: Any) -> str:
    return dates.moment(moment, ctx.agency.timezone, ctx.t)


def _until(ctx: Context, end: Any) -> str:
    """A quarter ends on its last day ("Kamis, 31 Des 2026"), not at 00.00 of the next."""
    return dates.until(end, ctx.agency.timezone, ctx.t)


async def _refused(ctx: Context, reason: str) -> list[Reply]:
    await ctx.clear_state()
    return [
        Reply(
            ctx.t(reason),
            [
                Choice(router.payload(Verb.START), ctx.t("rating.back_to_list"), nav="back"),
                ctx.back_to_menu(),
            ],
        )
    ]


# --- The rater's side -------------------------------------------------------------------------


async def _list(
    ctx: Context, lead: str | None = None, page: int = 0, query: str | None = None
) -> list[Reply]:
    employee = ctx.employee
    assert employee is not None
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    period = await periods.current_open(ctx.session, ctx.agency.id)
    if period is None or not periods.is_accepting(period):
        await ctx.clear_state()
        return [ctx.main_menu(ctx.t("rating.error.no_period"))]
    done, total = await rating.progress(ctx.session, employee, period, scheme)
    if total == 0:
        return [ctx.main_menu(ctx.t("rating.empty_circle"))]
    members, more = await rating.circle_page(
        ctx.session, employee, period, scheme, page=page, query=query
    )
    head = ctx.t(
        "rating.intro",
        period=periods.label(period),
        closes=_until(ctx, period.closes_at),
        progress=ctx.t("rating.progress", done=done, total=total),
    )
    if query is not None and not members:
        head = ctx.t("rating.search_none", query=query[:50])
    choices = [
        Choice(
            router.payload(Verb.PICK, m.id),
            ctx.t("rating.member_rated" if m.rated else "rating.member", name=m.name),
        )
        for m in members
    ]
    if query is None:
        if page > 0:
            choices.append(
                Choice(router.payload(Verb.PAGE, page - 1), ctx.t("rating.page_prev"), nav="prev")
            )
        if more:
            choices.append(
                Choice(router.payload(Verb.PAGE, page + 1), ctx.t("rating.page_next"), nav="next")
            )
    choices.append(Choice(router.payload(Verb.SEARCH), ctx.t("rating.search")))
    choices.append(ctx.back_to_menu())
    return [Reply(f"{lead}\n\n{head}" if lead else head, choices)]


@router.command("nilai", "rate")
@router.action(Verb.START, roles={ASN})
async def start(ctx: Context, args: list[str]) -> list[Reply]:
    if ASN not in ctx.roles:  # also reached by the command, which any role may type
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    await ctx.clear_state()
    return await _list(ctx)


@router.action(Verb.PAGE, roles={ASN}, args=(NUM,))
async def page(ctx: Context, args: list[str]) -> list[Reply]:
    number = int(args[0]) if args[0].isdigit() else 0
    return await _list(ctx, page=min(number, 10_000))


@router.action(Verb.SEARCH, roles={ASN})
async def search(ctx: Context, args: list[str]) -> list[Reply]:
    await router.enter(ctx, Search.NAME)
    return [Reply(ctx.t("rating.ask_name"), [ctx.back_to_menu()])]


async def search_text(ctx: Context, text: str) -> list[Reply]:
    await ctx.clear_state()
    return await _list(ctx, query=text.strip()[:50])


async def _target(ctx: Context, raw_id: str) -> tuple[RatingPeriod, Employee, str, Scheme]:
    """Period open, ratee in the circle, not oneself: raises RatingRefused otherwise."""
    employee = ctx.employee
    assert employee is not None
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    period = await periods.current_open(ctx.session, ctx.agency.id)
    ratee, relation = await rating.check_target(ctx.session, employee, raw_id, period, scheme)
    assert period is not None
    return period, ratee, relation, scheme


def _scale(ctx: Context, scheme: Scheme) -> str:
    return "\n".join(
        ctx.t("rating.scale_line", score=s, meaning=ctx.t(f"rating.score.{s}"))
        for s in range(scheme.score_min, scheme.score_max + 1)
    )


def _ask_score(ctx: Context, ratee: Employee, relation: str, scheme: Scheme, index: int) -> Reply:
    criterion = scheme.criteria[index]
    text = ctx.t(
        "rating.ask_score",
        name=ratee.name,
        relation=ctx.t(f"rating.relation.{relation}"),
        index=index + 1,
        count=len(scheme.criteria),
        criterion=ctx.t(f"rating.criterion.{criterion}"),
        hint=ctx.t(f"rating.criterion.{criterion}.hint"),
        scale=_scale(ctx, scheme),
    )
    choices = [
        Choice(router.payload(Verb.SCORE, ratee.id, index, s), str(s))
        for s in range(scheme.score_min, scheme.score_max + 1)
    ]
    return Reply(
        text,
        [*choices, Choice(router.payload(Verb.START), ctx.t("rating.back_to_list"), nav="back")],
    )


@router.action(Verb.PICK, roles={ASN}, args=(ID,))
async def pick(ctx: Context, args: list[str]) -> list[Reply]:
    try:
        period, ratee, relation, scheme = await _target(ctx, args[0])
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    assert ctx.employee is not None
    await router.enter(ctx, Rate.SCORE, RateDraft(period=period.id, ratee=ratee.id))
    replies = [_ask_score(ctx, ratee, relation, scheme, 0)]
    if await rating.existing(ctx.session, period, ctx.employee, ratee) is not None:
        replies[0].text = ctx.t("rating.revising", name=ratee.name) + "\n\n" + replies[0].text
    return replies


def _stale(ctx: Context) -> list[Reply]:
    """A button of this rating pressed at another step: the user stays where they are."""
    return [Reply(ctx.t("error.stale_button"), [ctx.back_to_menu()])]


# The buttons of a rating answer at any of its steps: a stale one is said so in place.
@router.action(Verb.SCORE, roles={ASN}, state=tuple(Rate), args=(ID, NUM, NUM))
async def score(ctx: Context, args: list[str]) -> list[Reply]:
    draft = RateDraft.of(ctx)
    try:
        period, ratee, relation, scheme = await _target(ctx, args[0])
        value = rating.valid_score(args[2], scheme)
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    scores = dict(draft.scores)
    index = int(args[1]) if args[1].isdigit() else -1
    # The button must belong to this conversation: same colleague, same quarter, current step.
    if ratee.id != draft.ratee or period.id != draft.period or index != len(scores):
        return _stale(ctx)
    if index >= len(scheme.criteria):
        return _stale(ctx)
    scores[scheme.criteria[index]] = value
    draft.scores = scores
    if len(scores) < len(scheme.criteria):
        await router.enter(ctx, Rate.SCORE, draft)
        return [_ask_score(ctx, ratee, relation, scheme, len(scores))]
    await router.enter(ctx, Rate.COMMENT, draft)
    return [
        Reply(
            ctx.t("rating.ask_comment", max=scheme.comment_max_chars),
            [Choice(router.payload(Verb.SKIP, ratee.id), ctx.t("rating.skip")), ctx.back_to_menu()],
            expects_text=True,
        )
    ]


async def score_typed(ctx: Context, text: str) -> list[Reply]:
    draft = RateDraft.of(ctx)
    try:
        _period, ratee, relation, scheme = await _target(ctx, str(draft.ratee))
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    index = len(draft.scores)
    typed = text.strip()
    # A typed score is as good as a pressed one; the button path re-checks everything.
    if typed.isdigit() and scheme.score_min <= int(typed) <= scheme.score_max:
        return await score(ctx, [str(ratee.id), str(index), typed])
    return _use_buttons(ctx, [_ask_score(ctx, ratee, relation, scheme, index)])


def _use_buttons(ctx: Context, replies: list[Reply]) -> list[Reply]:
    """Anything else keeps the user on the same step, with its buttons, instead of a dead end."""
    replies[0].text = ctx.t("rating.use_buttons") + "\n\n" + replies[0].text
    return replies


async def comment_typed(ctx: Context, text: str) -> list[Reply]:
    return await _summary(ctx, RateDraft.of(ctx), text)


async def confirm_typed(ctx: Context, text: str) -> list[Reply]:
    draft = RateDraft.of(ctx)
    try:
        await _target(ctx, str(draft.ratee))
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    return _use_buttons(ctx, await _summary(ctx, draft, draft.comment))


@router.action(Verb.SKIP, roles={ASN}, state=tuple(Rate), args=(ID,))
async def skip(ctx: Context, args: list[str]) -> list[Reply]:
    draft = RateDraft.of(ctx)
    if not router.at(ctx, Rate.COMMENT) or args[0] != str(draft.ratee):
        return _stale(ctx)
    return await _summary(ctx, draft, None)


async def _summary(ctx: Context, draft: RateDraft, comment: str | None) -> list[Reply]:
    try:
        period, ratee, _relation, scheme = await _target(ctx, str(draft.ratee))
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    given = (comment or "").strip()
    note = given[: scheme.comment_max_chars] or None
    draft.comment = note
    await router.enter(ctx, Rate.CONFIRM, draft)
    lines = "\n".join(
        ctx.t(
            "rating.summary_line",
            criterion=ctx.t(f"rating.criterion.{c}"),
            score=v,
            meaning=ctx.t(f"rating.score.{v}"),
        )
        for c, v in draft.scores.items()
    )
    text = ctx.t(
        "rating.summary",
        name=ratee.name,
        period=periods.label(period),
        lines=lines,
        comment=note or ctx.t("rating.no_comment"),
    )
    if len(given) > scheme.comment_max_chars:
        # Say so: a silently shortened comment would be saved without the writer knowing.
        text = ctx.t("rating.comment_cut", max=scheme.comment_max_chars) + "\n\n" + text
    return [
        Reply(
            text,
            [
                Choice(router.payload(Verb.SAVE, ratee.id), ctx.t("rating.save")),
                Choice(router.payload(Verb.PICK, ratee.id), ctx.t("rating.change")),
                Choice(router.payload(Verb.START), ctx.t("rating.back_to_list"), nav="back"),
                ctx.back_to_menu(),
            ],
        )
    ]


@router.action(Verb.SAVE, roles={ASN}, state=tuple(Rate), args=(ID,))
async def save(ctx: Context, args: list[str]) -> list[Reply]:
    draft = RateDraft.of(ctx)
    if not router.at(ctx, Rate.CONFIRM) or args[0] != str(draft.ratee):
        return _stale(ctx)
    employee = ctx.employee
    assert employee is not None
    try:
        period, ratee, _relation, scheme = await _target(ctx, args[0])
        if period.id != draft.period:
            raise RatingRefused(rating.RatingError.NO_PERIOD)
        await rating.save_rating(
            ctx.session, period, employee, ratee.id, draft.scores, draft.comment, scheme
        )
    except RatingRefused as exc:
        return await _refused(ctx, exc.reason.value)
    await ctx.clear_state()
    return await _list(ctx, lead=ctx.t("rating.saved", name=ratee.name))


# --- HR: quarters ----------------------------------------------------------------------------


@router.action(Verb.PERIODS, roles={HR})
async def period_list(ctx: Context, args: list[str], lead: str | None = None) -> list[Reply]:
    await ctx.clear_state()
    recent = await periods.recent(ctx.session, ctx.agency.id, limit=4)
    lines = [
        ctx.t(
            "period.line",
            label=periods.label(p),
            state=ctx.t(f"period.state.{p.state}"),
            opens=_local(ctx, p.opens_at),
            closes=_until(ctx, p.closed_at or p.closes_at),
        )
        for p in recent
    ]
    text = ctx.t("period.title") + "\n" + ("\n".join(lines) or ctx.t("period.none"))
    choices: list[Choice] = []
    ref = await periods.next_to_open(ctx.session, ctx.agency, ctx.inbound.received_at)
    if ref is not None:
        choices.append(
            Choice(
                router.payload(Verb.OPEN, ref.year, ref.quarter),
                ctx.t("period.open_button", label=ref.label),
            )
        )
    for p in recent:
        if p.state == periods.OPEN:
            choices.append(
                Choice(
                    router.payload(Verb.CLOSE, p.id),
                    ctx.t("period.close_button", label=periods.label(p)),
                )
            )
        elif p.state == periods.CLOSED:
            choices.append(
                Choice(
                    router.payload(Verb.PUBLISH, p.id),
                    ctx.t("period.publish_button", label=periods.label(p)),
                )
            )
    return [Reply(f"{lead}\n\n{text}" if lead else text, [*choices, ctx.back_to_menu()])]


def _quarter_args(args: list[str]) -> QuarterRef | None:
    try:
        year, quarter = int(args[0]), int(args[1])
    except ValueError:
        return None
    return QuarterRef(year, quarter) if 1 <= quarter <= 4 and 2000 <= year <= 2100 else None


@router.action(Verb.OPEN, roles={HR}, args=(NUM, NUM))
async def ask_open(ctx: Context, args: list[str]) -> list[Reply]:
    ref = _quarter_args(args)
    if ref is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return [
        Reply(
            ctx.t("period.confirm_open", label=ref.label),
            [
                Choice(router.payload(Verb.OPEN_OK, ref.year, ref.quarter), ctx.t("period.yes")),
                Choice(router.payload(Verb.PERIODS), ctx.t("button.back"), nav="back"),
            ],
        )
    ]


@router.action(Verb.OPEN_OK, roles={HR}, args=(NUM, NUM))
async def open_quarter(ctx: Context, args: list[str]) -> list[Reply]:
    ref = _quarter_args(args)
    if ref is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    year, quarter = ref.year, ref.quarter
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    try:
        period = await periods.open_quarter(
            ctx.session, ctx.agency, QuarterRef(year, quarter), scheme, ctx.actor
        )
    except PeriodRefused as exc:
        return await period_list(ctx, [], lead=ctx.t(exc.reason.value))
    lead = ctx.t("period.opened", label=periods.label(period), closes=_until(ctx, period.closes_at))
    return await period_list(ctx, [], lead=lead)


async def _confirm(ctx: Context, verb: str, raw_id: str, key: str) -> list[Reply]:
    period = await periods.period_by_id(ctx.session, ctx.agency.id, raw_id)
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    return [
        Reply(
            ctx.t(key, label=periods.label(period)),
            [
                Choice(router.payload(verb, period.id), ctx.t("period.yes")),
                Choice(router.payload(Verb.PERIODS), ctx.t("button.back"), nav="back"),
            ],
        )
    ]


@router.action(Verb.CLOSE, roles={HR}, args=(ID,))
async def ask_close(ctx: Context, args: list[str]) -> list[Reply]:
    return await _confirm(ctx, Verb.CLOSE_OK, args[0], "period.confirm_close")


@router.action(Verb.PUBLISH, roles={HR}, args=(ID,))
async def ask_publish(ctx: Context, args: list[str]) -> list[Reply]:
    return await _confirm(ctx, Verb.PUBLISH_OK, args[0], "period.confirm_publish")


async def _transition(
    ctx: Context,
    raw_id: str,
    step: Callable[..., Awaitable[None]],
    lead: Callable[[RatingPeriod], Awaitable[str]],
) -> list[Reply]:
    """Close or publish a quarter of this agency, then show the periods with the outcome."""
    period = await periods.period_by_id(ctx.session, ctx.agency.id, raw_id)
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    try:
        await step(ctx.session, period, scheme, ctx.actor)
    except PeriodRefused as exc:
        return await period_list(ctx, [], lead=ctx.t(exc.reason.value))
    return await period_list(ctx, [], lead=await lead(period))


@router.action(Verb.CLOSE_OK, roles={HR}, args=(ID,))
async def do_close(ctx: Context, args: list[str]) -> list[Reply]:
    async def closed(period: RatingPeriod) -> str:
        return ctx.t("period.closed", label=periods.label(period))

    return await _transition(ctx, args[0], periods.close_period, closed)


@router.action(Verb.PUBLISH_OK, roles={HR}, args=(ID,))
async def do_publish(ctx: Context, args: list[str]) -> list[Reply]:
    return await _transition(
        ctx, args[0], periods.publish_period, lambda period: winners_text(ctx, period)
    )


async def winners_text(ctx: Context, period: RatingPeriod) -> str:
    """The awards recorded for this quarter (and its semester and year when they closed), each
    score as its owner may see it ("-" where showing it would expose a small group of raters, with
    one line under the list saying why)."""
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    lines = [ctx.t("period.published", label=periods.label(period))]
    withheld = False
    parts = [("quarter", period.quarter)]
    if period.quarter % 2 == 0:
        parts.append(("shortlist", period.quarter // 2))
    if period.quarter == 4:
        parts.append(("year", 0))
    for kind, part in parts:
        rows = await awards(ctx.session, ctx.agency.id, kind, period.year, part)
        shown = await shown_award_scores(
            ctx.session, scheme, ctx.agency.id, kind, period.year, part, [e.id for _a, e in rows]
        )
        lines.append(ctx.t(f"award.{kind}", year=period.year, part=part))
        lines += [
            ctx.t(
                "award.line",
                rank=a.rank,
                name=e.name,
                score="-" if (value := shown.get(e.id)) is None else ctx.t.decimal(value),
                count=a.rater_count,
                prize=ctx.t("award.prize", prize=a.prize) if a.prize else "",
            )
            for a, e in rows
        ] or [ctx.t("award.none")]
        withheld = withheld or any(shown.get(e.id) is None for _a, e in rows)
    if withheld:
        lines.append(ctx.t("ranking.withheld_note"))
    return "\n".join(lines)


router.flow(Search, NoDraft, {Search.NAME: Step(search_text, roles={ASN})})
router.flow(
    Rate,
    RateDraft,
    {
        Rate.SCORE: Step(score_typed, roles={ASN}),
        # A typed "5" is the comment, not the fifth button.
        Rate.COMMENT: Step(comment_typed, roles={ASN}, expects=(Expect.BARE_NUMBER,)),
        Rate.CONFIRM: Step(confirm_typed, roles={ASN}),
    },
)
