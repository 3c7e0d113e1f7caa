"""The HR console in a real browser: Debian's Chromium driven by Playwright, against the console
served on a real port by the same server `abdi serve` runs, with the demo office on SQLite and
PostgreSQL. Codes are read from the officer's console chat, where the drain prints them.

Screenshots go to ABDI_TEST_OUTPUT (default var/test-output) /screenshots, one per page and
width, named by test; look at them after a run."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from bot import background
from bot.app import App
from bot.channels.console import ConsoleChat, ConsoleSender
from bot.config import ROOT
from bot.hr_web.app import mount
from bot.i18n import translator
from bot.web import application, serving
from tests.conftest import _unavailable
from tests.helpers.web_helpers import HR_NIP, linked_account

CHROMIUM = os.environ.get("ABDI_CHROMIUM", "/usr/bin/chromium")
# As root, without a sandbox; no calls home (this machine's network is closed, and each refused
# connection costs a start-up).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
OUTPUT = Path(os.environ.get("ABDI_TEST_OUTPUT", ROOT / "var" / "test-output")) / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
CODE = re.compile(r":\s*([A-Z0-9]{6})\b")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not shutil.which(CHROMIUM):  # a path or a name on PATH
        _unavailable("Chromium", FileNotFoundError(CHROMIUM))
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Console:
    """The console at `base` and the console chats of the officers signed in through it."""

    app: App
    base: str
    browser: Browser
    name: str
    chats: dict[str, list[str]] = field(default_factory=dict)
    _runners: list[background.Background] = field(default_factory=list)

    async def chat_of(self, nip: str) -> list[str]:
        """The lines printed in `nip`'s console chat (linked on first use, drained live)."""
        if nip not in self.chats:
            account = await linked_account(self.app, nip, channel="console")
            lines: list[str] = []
            chat = ConsoleChat(self.app.dispatcher, account.user_ref, write=lines.append)
            sender = ConsoleSender(chat, translator("id"))
            self._runners.append(
                background.start(self.app, {"console": sender}, run_jobs=False, idle=0.05)
            )
            self.chats[nip] = lines
        return self.chats[nip]

    async def code_for(self, nip: str, page: Page, after: int = 0) -> str:
        """The code in the first message printed in `nip`'s chat after line `after`."""
        lines = await self.chat_of(nip)
        for _ in range(100):
            found = [m.group(1) for line in lines[after:] if (m := CODE.search(line))]
            if found:
                return found[-1]
            await page.wait_for_timeout(100)
        raise AssertionError(f"no sign-in code reached the console chat: {lines}")

    async def page(self, *, width: dict[str, int] = DESKTOP, locale: str = "id-ID") -> Page:
        """A new tab of an Indonesian browser (Accept-Language id) at `width`."""
        return await self.browser.new_page(viewport=width, locale=locale)  # type: ignore[arg-type]

    async def sign_in(self, nip: str = HR_NIP, *, width: dict[str, int] = DESKTOP) -> Page:
        """A page signed in as `nip` the way an officer does it: NIP, then the chat's code."""
        seen = len(await self.chat_of(nip))
        page = await self.page(width=width)
        await page.goto(f"{self.base}/hr/")
        await page.get_by_label("NIP").fill(nip)
        await page.get_by_role("button", name="Kirim kode").click()
        code = await self.code_for(nip, page, after=seen)
        await page.get_by_label("Kode dari chat Abdi").fill(code)
        await page.get_by_role("button", name="Masuk").click()
        await page.wait_for_load_state()
        return page

    async def shot(self, page: Page, what: str) -> Path:
        """Screenshots of the page as it is now, at desktop and phone widths."""
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{self.name}-{what}.png"
        await page.screenshot(path=path, full_page=True)
        size = page.viewport_size
        await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await page.screenshot(path=OUTPUT / f"{self.name}-{what}-phone.png", full_page=True)
        if size:
            await page.set_viewport_size(size)
        return path

    async def close(self) -> None:
        for runner in self._runners:
            await runner.stop()


@pytest.fixture
async def console(
    demo_app: App, browser: Browser, request: pytest.FixtureRequest
) -> AsyncIterator[Console]:
    web_app = application(demo_app)
    mount(web_app, demo_app)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    async with serving(web_app, "127.0.0.1", 0) as port:
        site = Console(demo_app, f"http://127.0.0.1:{port}", browser, name)
        try:
            yield site
        finally:
            await site.close()
