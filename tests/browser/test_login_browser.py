"""Signing in to the console in Chromium with the code that arrives in the officer's chat."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import Console


async def test_hr_signs_in_with_the_chat_code_and_signs_out(console: Console) -> None:
    page = await console.page()
    await page.goto(f"{console.base}/hr/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Masuk ke konsol HR")
    await console.shot(page, "login")
    await page.close()

    page = await console.sign_in()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ringkasan")
    await expect(page.get_by_role("navigation")).to_contain_text("Pegawai")
    await console.shot(page, "overview")

    await page.get_by_role("button", name="English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Overview")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Masuk ke konsol HR")
    await page.goto(f"{console.base}/hr/")
    await expect(page).to_have_url(f"{console.base}/hr/login?next=/hr/")


async def test_a_wrong_code_is_told_plainly(console: Console) -> None:
    await console.chat_of("198412052009031034")
    page = await console.page()
    await page.goto(f"{console.base}/hr/login")
    await page.get_by_label("NIP").fill("198412052009031034")
    await page.get_by_role("button", name="Kirim kode").click()
    await page.get_by_label("Kode dari chat Abdi").fill("ZZZZZZ")
    await page.get_by_role("button", name="Masuk").click()
    await expect(page.get_by_role("alert")).to_contain_text("Kode salah")
    await console.shot(page, "wrong-code")
