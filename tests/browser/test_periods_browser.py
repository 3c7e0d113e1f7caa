"""Publishing a quarter in Chromium: the list, the confirmation, the standings; then the audit log
shows the publication."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect
from sqlalchemy import select

from bot.services import periods
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import load_scheme
from storage.models import Agency
from tests.browser.conftest import Console
from tests.flows.test_standings import T0, _rate
from tests.helpers.rating_helpers import employee_ids


async def _closed_quarter(console: Console) -> None:
    """2025-Q1 closed with a few colleagues rated by enough raters to be ranked."""
    ids = await employee_ids(console.app)
    async with console.app.sessions() as session, session.begin():
        agency = await session.scalar(select(Agency))
        assert agency is not None
        scheme = await load_scheme(session, agency.id)
        period = await periods.open_quarter(
            session, agency, QuarterRef(2025, 1), scheme, "test", closes_at=T0 + timedelta(days=90)
        )
        for n, ratee in enumerate((2, 3, 4, 6, 8)):
            for k, rater in enumerate(r for r in (1, 10, 11, 12, 13, 14) if r != ratee):
                value = 3 + (n + k) % 3
                await _rate(session, period.id, ids[rater], ids[ratee], value, T0, "peer")
        await periods.close_period(session, period, scheme, "test")


async def test_hr_publishes_a_quarter_after_confirming(console: Console) -> None:
    await _closed_quarter(console)
    page = await console.sign_in()
    await page.get_by_role("link", name="Periode & peringkat").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Periode & peringkat")
    await console.shot(page, "periods")

    await page.get_by_role("button", name="Umumkan 2025-Q1").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Umumkan triwulan 2025-Q1?")
    await expect(page.get_by_text("tidak bisa dibatalkan")).to_be_visible()
    await console.shot(page, "publish-confirm")

    await page.get_by_role("button", name="Ya, umumkan 2025-Q1").click()
    await expect(page.get_by_role("status")).to_contain_text("Hasil triwulan 2025-Q1 diumumkan")
    table = page.get_by_role("table").filter(has_text="Peringkat instansi")
    await expect(table.get_by_role("row")).to_have_count(6)  # a header and five rows
    await console.shot(page, "period-published")

    await page.get_by_role("link", name="Log audit").click()
    await page.get_by_label("Tindakan").select_option("period.publish")
    await page.get_by_role("button", name="Terapkan").click()
    rows = page.get_by_role("table").get_by_role("row")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(1)).to_contain_text("Fajar Santoso")
    await console.shot(page, "audit-log")
