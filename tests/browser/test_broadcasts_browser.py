"""A broadcast written in Chromium: the live count follows the audience, the preview shows the
message as Telegram and WhatsApp will, and the report's progress bar fills by itself while the
real drain sends it to the fake Bot API."""

from __future__ import annotations

from playwright.async_api import expect

from bot import background
from tests.browser.conftest import Console
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.helpers.delivery_helpers import link_all, telegram_sender

TEXT = "Apel pagi Senin pukul 07.30 di halaman balai kota.\nHarap hadir tepat waktu."


async def test_hr_writes_previews_and_follows_a_broadcast(
    console: Console, bot_api: FakeBotAPI
) -> None:
    await link_all(console.app, limit=40)
    page = await console.sign_in()
    await page.get_by_role("navigation").get_by_role("link", name="Siaran").click()
    await page.get_by_role("link", name="Tulis siaran").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Tulis siaran")
    await page.get_by_label("Isi pesan").fill(TEXT)
    count = page.locator("#count")
    await expect(count).to_contain_text("50 ASN")
    await page.get_by_label("Unit tertentu").check()
    await expect(count).to_contain_text("Pilih paling sedikit satu unit")
    await page.get_by_label("Dinas Kesehatan").check()
    await expect(count).not_to_contain_text("50 ASN")
    await expect(count).to_contain_text("bisa dihubungi")
    await console.shot(page, "compose")

    await page.get_by_role("button", name="Lihat pratinjau").click()
    await expect(page.get_by_role("heading", name="Di Telegram")).to_be_visible()
    await expect(page.get_by_role("heading", name="Di WhatsApp")).to_be_visible()
    await console.shot(page, "preview")

    await page.get_by_role("button", name="Ya, kirim sekarang").click()
    await expect(page.get_by_role("status")).to_contain_text("sedang dikirim")
    bar = page.locator("progress")
    total = int(await bar.get_attribute("max") or 0)
    assert total > 0 and await bar.get_attribute("value") == "0"
    # The real drain sends it to the fake Bot API, five a second: the bar fills without a reload.
    runner = background.start(
        console.app,
        {"telegram": telegram_sender(console.app, bot_api, rate=5)},
        run_jobs=False,
        idle=0.05,
    )
    try:
        await expect(bar).not_to_have_attribute("value", "0", timeout=10_000)
        assert int(await bar.get_attribute("value") or 0) < total  # seen on its way
        await expect(bar).to_have_attribute("value", str(total), timeout=30_000)
    finally:
        await runner.stop()
    sent = [c for c in bot_api.calls if c.method == "sendMessage" and "Apel pagi" in str(c.params)]
    assert len(sent) == total and len({c.params["chat_id"] for c in sent}) == total
    await console.shot(page, "progress")

    await page.get_by_role("link", name="Daftar siaran").click()
    await expect(page.get_by_role("link", name="Apel pagi Senin")).to_be_visible()
    await console.shot(page, "list")
