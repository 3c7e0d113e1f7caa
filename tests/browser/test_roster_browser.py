"""The roster page in Chromium: search the staff, open a card and issue a link code, then upload
a roster with one bad row, read the preview and confirm it; on a desktop and on a phone."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import expect

from tests.browser.conftest import PHONE, Console

ROSTER = (
    "nip,name,position,unit,supervisor_nip,kind,phone,role\n"
    "199001012015031001,Budi Santoso,Analis,Sekretariat Daerah,,PNS,081299990001,\n"
    "12345,Dodi,Staf,Sekretariat Daerah,,PNS,,\n"
)


async def test_search_card_and_upload_with_preview(console: Console, tmp_path: Path) -> None:
    page = await console.sign_in()
    await page.get_by_role("navigation").get_by_role("link", name="Pegawai", exact=True).click()
    await expect(page.get_by_role("heading", name="Daftar pegawai")).to_be_visible()
    await expect(page.get_by_text("50 pegawai · halaman 1 dari 1")).to_be_visible()
    await console.shot(page, "roster-list")

    await page.get_by_label("Cari nama atau NIP").fill("mega")
    await page.get_by_role("button", name="Cari").click()
    await page.get_by_role("link", name="Mega Hidayat").click()
    await expect(page.get_by_role("heading", name="Mega Hidayat")).to_be_visible()
    await page.get_by_role("button", name="Buat kode tautan").click()
    await expect(page.locator("#link-code")).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$"))
    await console.shot(page, "roster-card-code")

    await page.get_by_role("link", name="← Kembali ke daftar pegawai").click()
    await page.get_by_role("link", name="Unggah daftar pegawai").click()
    upload = tmp_path / "pegawai.csv"
    upload.write_text(ROSTER)
    await page.get_by_label("Berkas daftar pegawai").set_input_files(upload)
    await page.get_by_role("button", name="Lihat pratinjau").click()
    await expect(page.get_by_role("heading", name="Pratinjau impor")).to_be_visible()
    await expect(page.get_by_role("cell", name="NIP harus 18 angka")).to_be_visible()
    await console.shot(page, "roster-preview")
    await page.get_by_role("button", name="Ya, impor").click()
    await expect(page.get_by_text("Impor selesai.")).to_be_visible()

    phone = await console.sign_in(width=PHONE)
    await phone.goto(f"{console.base}/hr/roster?q=budi")
    await expect(phone.get_by_role("link", name="Budi Santoso")).to_be_visible()
    await console.shot(phone, "roster-search")
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"
