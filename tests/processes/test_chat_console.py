"""`abdi chat` serves the HR console beside the terminal chat: the newcomer's one command shows
both, and the sign-in code arrives in the very chat they are typing in."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

import aiohttp

from tests.helpers.process_helpers import ABDI, OWN, free_port
from tests.helpers.web_helpers import CSRF, HR_NIP

ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+/hr/)")
CODE = re.compile(r"konsol HR Abdi: ([A-Z0-9]{6})")


async def _line_matching(stream: asyncio.StreamReader, pattern: re.Pattern[str], seen: list[str]):
    while True:
        raw = await asyncio.wait_for(stream.readline(), 60)
        assert raw, "the chat ended before: " + "".join(seen)
        seen.append(raw.decode())
        if found := pattern.search(seen[-1]):
            return found.group(1)


async def test_the_demo_chat_serves_the_console_and_prints_the_sign_in_code(tmp_path: Path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    environment |= {
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",  # lines as they are printed, as a terminal shows them
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'abdi.db'}",
        "WEB_CHAT_PORT": str(free_port()),
    }
    chat = await asyncio.create_subprocess_exec(
        str(ABDI), "chat", "--demo", "--as", HR_NIP,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=environment,
        cwd=tmp_path,
    )  # fmt: skip
    assert chat.stdout is not None and chat.stdin is not None
    seen: list[str] = []
    try:
        base = await _line_matching(chat.stdout, ADDRESS, seen)
        # A cookie jar that keeps cookies of an IP address, as browsers do.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = await (await http.get(base + "login")).text()
            csrf = CSRF.search(login)
            assert csrf, login
            await http.post(base + "login", data={"csrf": csrf[1], "nip": HR_NIP})
            code = await _line_matching(chat.stdout, CODE, seen)  # printed into the chat
            signed = await http.post(
                base + "login/code", data={"csrf": csrf[1], "nip": HR_NIP, "code": code}
            )
            page = await signed.text()
        assert signed.status == 200 and "Fajar Santoso" in page and "Ringkasan" in page
    finally:
        chat.stdin.close()
        await asyncio.wait_for(chat.wait(), 60)
    assert chat.returncode == 0, "".join(seen)


def test_lang_wins_over_the_language_an_earlier_session_chose(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(OWN)}
    environment |= {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'abdi.db'}",
        "WEB_CHAT_PORT": "0",
    }

    def chat(*argv: str, typed: str) -> str:
        done = subprocess.run(
            [str(ABDI), "chat", "--as", HR_NIP, *argv],
            input=typed, capture_output=True, text=True, env=environment, cwd=tmp_path,
            timeout=120, check=True,
        )  # fmt: skip
        return done.stdout

    assert "Language changed to English." in chat("--demo", typed="/bahasa\n2\n")
    assert "Please choose a service" in chat(typed="/menu\n")  # the account kept English
    again = chat("--lang", "id", typed="/menu\n")
    assert "Silakan pilih layanan" in again and "Please choose" not in again
