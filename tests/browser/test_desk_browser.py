"""The 4-in-1 desk of the demo office in Chromium: the desk officer opens the most urgent case
from the queue, moves a document with a note for the family, and HR reads the SLA report; on a
desktop and on a phone."""

from __future__ import annotations

from playwright.async_api import expect

from bot.cli.demo import load_demo
from bot.i18n import translator
from tests.browser.conftest import PHONE, Console
from tests.helpers.web_helpers import OFFICER_NIP


async def test_the_desk_officer_works_a_case(console: Console) -> None:
    await load_demo(console.app, translator("id"))
    page = await console.sign_in(OFFICER_NIP)
    await expect(page.get_by_role("heading", name="Meja 4-in-1")).to_be_visible()
    await console.shot(page, "desk-queue")

    await page.locator("tbody a").first.click()  # the nearest target first
    await expect(page.get_by_role("heading", name="Empat dokumen")).to_be_visible()
    move = page.locator("details", has_text="Ubah status: Akta kematian")
    await move.get_by_text("Ubah status: Akta kematian").click()  # unfold the document's form
    await move.get_by_label("Status baru").select_option("ready")
    await move.get_by_label("Catatan untuk keluarga (boleh kosong)").fill("Ambil besok")
    await move.get_by_role("button", name="Simpan dan kabari keluarga").click()
    await expect(page.get_by_role("status")).to_contain_text("Tersimpan")
    await expect(page.get_by_role("table").first).to_contain_text("Ambil besok")
    await console.shot(page, "desk-case")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"]  # type: ignore[index]

    phone = await console.sign_in(OFFICER_NIP, width=PHONE)
    await phone.locator("tbody a").first.click()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the card is {width}px wide on a {PHONE['width']}px phone"

    hr = await console.sign_in()
    await hr.goto(f"{console.base}/hr/desk/report")
    chart = hr.get_by_role("img", name="Bagian kasus yang diserahkan tepat waktu, per bulan")
    await expect(chart).to_be_visible()
    await expect(hr.locator("table.desk-report tbody tr")).to_have_count(1)
    await console.shot(hr, "desk-report")
