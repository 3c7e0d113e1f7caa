"""Assessment quarters and the states of a rating period: what periods and standings share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from storage.statuses import PeriodState

# A rating period is open (rating), then closed (standings computed for HR), then published.
OPEN, CLOSED, PUBLISHED = PeriodState.OPEN, PeriodState.CLOSED, PeriodState.PUBLISHED


@dataclass(frozen=True)
class QuarterRef:
    year: int
    quarter: int

    @property
    def semester(self) -> int:
        return 1 if self.quarter <= 2 else 2

    @property
    def label(self) -> str:
        return f"{self.year}-Q{self.quarter}"


def quarter_of(moment: datetime, tz: ZoneInfo) -> QuarterRef:
    local = moment.astimezone(tz)
    return QuarterRef(local.year, (local.month - 1) // 3 + 1)


def quarter_bounds(ref: QuarterRef, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end of a quarter as UTC instants: local midnight to local midnight."""
    start = datetime(ref.year, 3 * ref.quarter - 2, 1, tzinfo=tz)
    end_year, end_month = (ref.year + 1, 1) if ref.quarter == 4 else (ref.year, 3 * ref.quarter + 1)
    end = datetime(end_year, end_month, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
