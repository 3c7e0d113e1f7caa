"""aiogram's Bot API models are built on first use in Abdi's processes (bot/lazy_aiogram.py):
the same results as aiogram's own eager build, at a fraction of the memory. Each case runs
in a fresh interpreter, since the import order is what is tested."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# An inbound update with nested types (user, chat, entities, a reply with a keyboard) and an
# outbound call with a keyboard, as the bot parses and sends them; printed as JSON.
USE = """
import json, re
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update

update = Update.model_validate({
    "update_id": 7,
    "callback_query": {
        "id": "q1", "chat_instance": "c", "data": "home:help",
        "from": {"id": 5, "is_bot": False, "first_name": "Rina", "language_code": "id"},
        "message": {
            "message_id": 3, "date": 1700000000, "text": "Menu /menu",
            "chat": {"id": 5, "type": "private"},
            "entities": [{"type": "bot_command", "offset": 5, "length": 5}],
            "reply_markup": {"inline_keyboard": [[{"text": "Bantuan", "callback_data": "h"}]]},
        },
    },
})
keyboard = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Posisi saya", callback_data="standing:mine")]]
)
call = SendMessage(chat_id=5, text="Halo", reply_markup=keyboard)
with open("/proc/self/status") as status:
    rss = int(re.search(r"VmRSS:\\s+(\\d+)", status.read()).group(1)) // 1024
print(json.dumps({
    "update": update.model_dump(mode="json", exclude_none=True),
    "call": call.model_dump(mode="json", exclude_defaults=True),
    "rss_mb": rss,
}))
"""
ROOT = Path(__file__).resolve().parents[2]


def run(first: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", f"{first}\n{USE}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_models_built_on_first_use_give_the_same_results_in_far_less_memory() -> None:
    eager = run("import aiogram")  # aiogram alone builds every type at import
    lazy = run("import bot.cli, bot.channels.serving")  # what `abdi run` imports
    assert lazy["update"] == eager["update"]
    assert lazy["update"]["callback_query"]["message"]["reply_markup"]["inline_keyboard"]
    assert lazy["call"] == eager["call"]
    # aiogram's eager build alone is about 125 MB over Python's own 11; all of Abdi's `run`
    # imports with the deferred build were 137 MB when this was written, aiogram's part 14.
    assert eager["rss_mb"] > 150
    assert lazy["rss_mb"] < 150
