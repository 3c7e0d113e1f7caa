"""My standing (any ASN, published quarters only) and HR's rankings, shortlist, coaching list,
integrity flags and export. Nothing here can tell anyone who rated them or what one rater gave:
every figure comes from standings.disclose, the same for one's own screen and for HR's.
"""

from __future__ import annotations

from enum import StrEnum

from bot.i18n import Translator
from bot.messages import Attachment, Choice, Reply
from bot.routing import ASN, HR, ID, Context, Router
from bot.services import audit, periods, rating, standing_chart, standings
from bot.services.rating_scheme import RELATIONS, Scheme, load_scheme
from handlers.rating import winners_text
from storage.models import Employee, RatingPeriod


class Verb(StrEnum):
    """The payload verbs of this router, as stored in buttons."""

    MINE = "mine"
    HR = "hr"
    OF = "of"
    RANK = "rank"
    AWARDS = "awards"
    COACH = "coach"
    FLAGS = "flags"
    EXPORT = "export"


router = Router("standing")
router.menu_entry(Verb.MINE, "menu.standing", roles={ASN}, order=210)
router.menu_entry(Verb.HR, "menu.ranking", roles={HR}, order=530, section="hr")
PERIOD_BUTTONS = 6


async def _published(ctx: Context, raw_id: str) -> RatingPeriod | None:
    period = await periods.period_by_id(ctx.session, ctx.agency.id, raw_id)
    return period if period is not None and period.state == periods.PUBLISHED else None


@router.command("posisi", "standing")
@router.action(Verb.MINE, roles={ASN})
async def mine(ctx: Context, args: list[str]) -> list[Reply]:
    if ASN not in ctx.roles:
        return [ctx.main_menu(ctx.t("error.not_allowed"))]
    published = await standings.published_periods(ctx.session, ctx.agency.id, PERIOD_BUTTONS)
    if not published:
        return [ctx.main_menu(ctx.t("standing.none_published"))]
    return await _show(ctx, published[0], published)


@router.action(Verb.OF, roles={ASN}, args=(ID,))
async def of_period(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _published(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    published = await standings.published_periods(ctx.session, ctx.agency.id, PERIOD_BUTTONS)
    return await _show(ctx, period, published)


def render_standing(
    t: Translator,
    period: RatingPeriod,
    found: standings.MyStanding,
    shown: standings.Disclosure | None,
    scheme: Scheme,
) -> str:
    """The "Posisi saya" text: only the figures `shown` allows, and a note when some are not."""
    row = found.standing
    label = periods.label(period)
    count = row.rater_count if row else 0
    if row is None or not row.eligible or shown is None:
        reason = t("standing.reason.few", count=count, min=scheme.rule("min_raters"))
        return t("standing.not_eligible", period=label, reason=reason, count=count)
    ranks = {
        "period": label,
        "rank_unit": row.rank_unit,
        "unit_total": found.unit_total,
        "rank_agency": row.rank_agency,
        "agency_total": found.agency_total,
        "count": count,
    }
    if shown.score is not None:
        lines = [t("standing.text", score=t.decimal(shown.score), **ranks)]
    else:
        lines = [t("standing.text_no_score", **ranks)]
    if shown.groups:
        lines.append(t("standing.breakdown_title"))
        lines += [
            t(
                "standing.breakdown_line",
                relation=t(f"standing.relation.{r}"),
                score=t.decimal(shown.groups[r][0]),
                count=shown.groups[r][1],
            )
            for r in RELATIONS
            if r in shown.groups
        ]
    if shown.withheld:
        lines.append(t("standing.breakdown_hidden", min=scheme.rule("breakdown_min_raters")))
    lines.append(t("standing.anonymous"))
    return "\n".join(lines)


async def standing_text(
    ctx: Context,
    employee: Employee,
    period: RatingPeriod,
    shown: dict[int, standings.Disclosure] | None = None,
) -> str:
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    found = await standings.my_standing(ctx.session, employee, period)
    if shown is None or period.id not in shown:
        shown = await standings.disclose_person(ctx.session, scheme, employee.id, [period])
    return render_standing(ctx.t, period, found, shown.get(period.id), scheme)


async def _show(ctx: Context, period: RatingPeriod, published: list[RatingPeriod]) -> list[Reply]:
    employee = ctx.employee
    assert employee is not None
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    points = await standings.history(ctx.session, employee, scheme)
    text = await standing_text(ctx, employee, period)
    chart = None
    if any(v is not None for _, v in points):
        png = standing_chart.history_chart(points, ctx.t("standing.chart_title"), scheme)
        chart = Attachment("posisi.png", png, "image/png")
    choices = [
        Choice(router.payload(Verb.OF, p.id), periods.label(p))
        for p in published
        if p.id != period.id
    ]
    return [Reply(text, [*choices, ctx.back_to_menu()], attachment=chart)]


# --- HR ---------------------------------------------------------------------------------------


@router.action(Verb.HR, roles={HR})
async def hr_periods(ctx: Context, args: list[str]) -> list[Reply]:
    recent = [
        p for p in await periods.recent(ctx.session, ctx.agency.id, 8) if p.state != periods.OPEN
    ]
    if not recent:
        return [ctx.main_menu(ctx.t("ranking.none"))]
    choices = [
        Choice(
            router.payload(Verb.RANK, p.id),
            ctx.t(
                "ranking.period_button",
                label=periods.label(p),
                state=ctx.t(f"period.state.{p.state}"),
            ),
        )
        for p in recent[:PERIOD_BUTTONS]
    ]
    return [Reply(ctx.t("ranking.pick"), [*choices, ctx.back_to_menu()])]


async def _hr_period(ctx: Context, raw_id: str) -> RatingPeriod | None:
    period = await periods.period_by_id(ctx.session, ctx.agency.id, raw_id)
    return period if period is not None and period.state != periods.OPEN else None


def _hr_choices(ctx: Context, period: RatingPeriod) -> list[Choice]:
    return [
        Choice(router.payload(Verb.RANK, period.id), ctx.t("ranking.button.top")),
        Choice(router.payload(Verb.AWARDS, period.id), ctx.t("ranking.button.awards")),
        Choice(router.payload(Verb.COACH, period.id), ctx.t("ranking.button.coaching")),
        Choice(router.payload(Verb.FLAGS, period.id), ctx.t("ranking.button.flags")),
        Choice(router.payload(Verb.EXPORT, period.id), ctx.t("ranking.button.export")),
        Choice(router.payload(Verb.HR), ctx.t("button.back"), nav="back"),
        ctx.back_to_menu(),
    ]


def _line(ctx: Context, row: standings.Row) -> str:
    return ctx.t(
        "ranking.line",
        rank=row.rank_agency,
        name=row.name,
        unit=row.unit,
        score=ctx.t.decimal(row.score) if row.score is not None else "-",
        count=row.rater_count,
    )


@router.action(Verb.RANK, roles={HR}, args=(ID,))
async def rank(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _hr_period(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    size = int(scheme.rule("shortlist_size"))
    rows = [
        r for r in await standings.ranking(ctx.session, period, scheme, limit=size) if r.eligible
    ]
    text = ctx.t(
        "ranking.title",
        period=periods.label(period),
        state=ctx.t(f"period.state.{period.state}"),
        count=size,
    )
    body = "\n".join(_line(ctx, r) for r in rows) or ctx.t("ranking.empty")
    if any(r.score is None for r in rows):
        body += "\n" + ctx.t("ranking.withheld_note")
    return [Reply(f"{text}\n{body}", _hr_choices(ctx, period))]


@router.action(Verb.AWARDS, roles={HR}, args=(ID,))
async def show_awards(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _hr_period(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    if period.state != periods.PUBLISHED:
        return [Reply(ctx.t("ranking.not_published"), _hr_choices(ctx, period))]
    return [Reply(await winners_text(ctx, period), _hr_choices(ctx, period))]


@router.action(Verb.COACH, roles={HR}, args=(ID,))
async def coaching(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _hr_period(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    found = await standings.coaching(ctx.session, period, scheme)
    return [Reply(coaching_text(ctx.t, period, found), _hr_choices(ctx, period))]


def coaching_text(t: Translator, period: RatingPeriod, found: standings.Coaching) -> str:
    """The coaching list with its rule said in words, so HR can say why each name is there."""
    head = t("ranking.coaching", period=periods.label(period))
    if not found.applies or found.lower_quartile is None or found.median is None:
        rule = t("ranking.coaching.too_few", count=found.ranked, min=found.min_ranked)
        return f"{head}\n{rule}"
    rule = t(
        "ranking.coaching.rule",
        threshold=t.decimal(found.threshold),
        quartile=t.decimal(found.lower_quartile),
        median=t.decimal(found.median),
        size=found.size,
        count=found.ranked,
    )
    lines = [
        t(
            "ranking.line",
            rank=r.rank_agency,
            name=r.name,
            unit=r.unit,
            score=t.decimal(r.score) if r.score is not None else "-",
            count=r.rater_count,
        )
        for r in found.rows
    ]
    body = "\n".join(lines) or t("ranking.coaching.nobody")
    if any(r.score is None for r in found.rows):
        body += "\n" + t("ranking.withheld_note")
    return f"{head}\n{rule}\n{body}"


@router.action(Verb.FLAGS, roles={HR}, args=(ID,))
async def flags(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _hr_period(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    review, lines = await rating.read_flags(
        ctx.session, period, scheme, ctx.employee, ctx.t, actor=ctx.actor
    )
    text = ctx.t("ranking.flags", period=periods.label(period), count=len(review.lines))
    body = "\n".join(lines) or ctx.t("ranking.no_flags")
    if review.unreviewable:
        body += "\n\n" + ctx.t("ranking.flags_hidden_alone", count=review.unreviewable)
    return [Reply(f"{text}\n{body}", _hr_choices(ctx, period))]


@router.action(Verb.EXPORT, roles={HR}, args=(ID,))
async def export(ctx: Context, args: list[str]) -> list[Reply]:
    period = await _hr_period(ctx, args[0])
    if period is None:
        return [ctx.main_menu(ctx.t("error.stale_button"))]
    scheme = await load_scheme(ctx.session, ctx.agency.id)
    records = standings.export_records(await standings.ranking(ctx.session, period, scheme))
    audit.record(
        ctx.session,
        actor=ctx.actor,
        action="standings.export",
        agency_id=ctx.agency.id,
        target=f"period:{period.id}",
        rows=len(records),
    )
    label = periods.label(period)
    content = standings.write_xlsx(records, label, ctx.t)
    attachment = Attachment(
        f"standings-{label}.xlsx",
        content,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    return [
        Reply(
            ctx.t("ranking.exported", period=label, count=len(records)),
            _hr_choices(ctx, period),
            attachment=attachment,
        )
    ]
