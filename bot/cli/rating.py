"""`abdi period open|close|publish` and `abdi standings export|flags`: assessment quarters."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import dates
from bot.app import App
from bot.cli.common import CliError, Subparsers, actor, agency, agency_option
from bot.i18n import Translator
from bot.services import periods, rating, standings
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import Scheme, load_scheme
from storage.models import Agency, RatingPeriod, Standing

QUARTER_HELP = "quarter, e.g. 2025-Q1"


async def _period(
    app: App, session: AsyncSession, args: argparse.Namespace
) -> tuple[Agency, QuarterRef, RatingPeriod | None]:
    """The agency, the quarter the argument names, and its period if it was ever opened."""
    chosen = await agency(app, session, args.agency)
    try:
        ref = periods.parse_label(args.period)
    except periods.PeriodRefused as exc:
        raise CliError(exc.reason.value) from exc
    return chosen, ref, await periods.get_period(session, chosen.id, ref)


@dataclass(frozen=True)
class Quarter:
    """What every period action works on: the agency, the quarter named, its period (if ever
    opened) and the agency's rating scheme."""

    agency: Agency
    ref: QuarterRef
    period: RatingPeriod | None
    scheme: Scheme

    def existing(self) -> RatingPeriod:
        if self.period is None:
            raise CliError(periods.PeriodError.NOT_FOUND.value)
        return self.period


async def _open(session: AsyncSession, q: Quarter, args: argparse.Namespace, t: Translator) -> None:
    zone = ZoneInfo(q.agency.timezone)
    closes = None
    if args.until:
        day = datetime.strptime(args.until, "%Y-%m-%d")
        # The whole named day counts: close at the next local midnight.
        closes = (day + timedelta(days=1)).replace(tzinfo=zone)
    opened = await periods.open_quarter(
        session, q.agency, q.ref, q.scheme, actor(), closes_at=closes
    )
    local = dates.until(opened.closes_at, zone, t)  # a quarter ends on its last day
    print(t("cli.period.opened", label=q.ref.label, closes=local))


async def _close(
    session: AsyncSession, q: Quarter, args: argparse.Namespace, t: Translator
) -> None:
    closing = q.existing()
    await periods.close_period(session, closing, q.scheme, actor())
    count = await session.scalar(select(func.count()).where(Standing.period_id == closing.id))
    print(t("cli.period.closed", label=q.ref.label, count=count))


async def _publish(
    session: AsyncSession, q: Quarter, args: argparse.Namespace, t: Translator
) -> None:
    await periods.publish_period(session, q.existing(), q.scheme, actor())
    print(t("cli.period.published", label=q.ref.label))


PeriodAction = Callable[[AsyncSession, Quarter, argparse.Namespace, Translator], Awaitable[None]]
PERIOD_ACTIONS: dict[str, PeriodAction] = {"open": _open, "close": _close, "publish": _publish}


async def cmd_period(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session, session.begin():
        chosen, ref, period = await _period(app, session, args)
        quarter = Quarter(chosen, ref, period, await load_scheme(session, chosen.id))
        try:
            await PERIOD_ACTIONS[args.action](session, quarter, args, t)
        except periods.PeriodRefused as exc:
            raise CliError(exc.reason.value) from exc
    return 0


def _write_exports(out: Path, label: str, records: list[dict[str, object]]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out / f"standings-{label}.csv", out / f"standings-{label}.xlsx"
    csv_path.write_bytes(standings.write_csv(records))
    xlsx_path.write_bytes(standings.write_xlsx(records, label))
    return csv_path, xlsx_path


async def cmd_standings_export(app: App, args: argparse.Namespace, t: Translator) -> int:
    async with app.sessions() as session:
        chosen, ref, period = await _period(app, session, args)
        if period is None or period.state == periods.OPEN:
            raise CliError(periods.PeriodError.NOT_CLOSED.value)
        scheme = await load_scheme(session, chosen.id)
        records = standings.export_records(await standings.ranking(session, period, scheme))
    csv_path, xlsx_path = _write_exports(Path(args.out), ref.label, records)
    print(
        t(
            "cli.standings.exported",
            label=ref.label,
            count=len(records),
            csv=csv_path,
            xlsx=xlsx_path,
        )
    )
    return 0


async def cmd_standings_flags(app: App, args: argparse.Namespace, t: Translator) -> int:
    """Every integrity flag of a quarter, for the review an HR officer in the circle cannot do
    from chat (the operator at the terminal is in nobody's circle). Audit-logged."""
    async with app.sessions() as session, session.begin():
        chosen, ref, period = await _period(app, session, args)
        quarter = Quarter(chosen, ref, period, await load_scheme(session, chosen.id))
        flagged = quarter.existing()
        review, lines = await rating.read_flags(
            session, flagged, quarter.scheme, None, t, actor=actor(), limit=10_000
        )
    print(t("ranking.flags", period=ref.label, count=len(review.lines)))
    print("\n".join(lines) or t("ranking.no_flags"))
    return 0


def add_commands(sub: Subparsers) -> None:
    period = sub.add_parser("period", help="assessment quarters: open, close, publish")
    period.add_argument("action", choices=list(PERIOD_ACTIONS))
    period.add_argument("period", help=QUARTER_HELP)
    period.add_argument("--until", help="open: last day for ratings, YYYY-MM-DD (local)")
    agency_option(period)
    period.set_defaults(func=cmd_period)
    st = sub.add_parser("standings", help="quarter standings").add_subparsers(
        dest="standings_command", required=True
    )
    exp = st.add_parser("export", help="write CSV and XLSX (aggregates only)")
    exp.add_argument("period", help=QUARTER_HELP)
    exp.add_argument("--out", default=".", help="directory (default: here)")
    agency_option(exp, None)
    exp.set_defaults(func=cmd_standings_export)
    flags = st.add_parser("flags", help="every integrity flag of a quarter (audit-logged)")
    flags.add_argument("period", help=QUARTER_HELP)
    agency_option(flags, None)
    flags.set_defaults(func=cmd_standings_flags)
