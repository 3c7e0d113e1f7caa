"""The overview of the demo office (mid-quarter, a published quarter, cases and a broadcast) in
Chromium: the figures HR looks at first, on a desktop and on a phone."""

from __future__ import annotations

from playwright.async_api import expect

from bot.cli.demo import load_demo
from bot.i18n import translator
from tests.browser.conftest import PHONE, Console


async def test_the_demo_office_at_a_glance(console: Console) -> None:
    await load_demo(console.app, translator("id"))
    page = await console.sign_in()
    await expect(page.get_by_role("heading", name="Partisipasi penilaian")).to_be_visible()
    await expect(page.locator("svg.chart rect")).to_have_count(8)  # the score distribution
    await expect(page.get_by_role("heading", name="Layanan 4-in-1")).to_be_visible()
    await expect(page.get_by_role("table").nth(1)).to_contain_text("Penerima")
    await console.shot(page, "overview-demo")

    # Keyboard only: the skip link is the first stop and leads to the page's content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Langsung ke isi")).to_be_focused()

    phone = await console.sign_in(width=PHONE)
    await expect(phone.get_by_role("navigation")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
