"""Typed numbers that do not move (issue point 4): navigation keeps one number on every screen
of a kind (9 next, 8 previous, 7 back, 0 menu) on WhatsApp and the console, and a number the
screen lacks gets "pilih 1–N" instead of being taken as a question."""

from __future__ import annotations

import pytest

from bot.channels.console import ConsoleChat
from bot.i18n import translator
from bot.messages import Channel


@pytest.mark.parametrize("chat", ["whatsapp"], indirect=True)  # typed numbers pick choices there
async def test_whatsapp_next_is_nine_on_every_page(chat) -> None:
    user = chat("7301")
    assert user.channel == Channel.WHATSAPP
    await user.send("/pedoman")
    await user.press("Netralitas pemilu")
    assert "(1/4)" in user.text
    assert any(title.startswith("9 ") for title in user._buttons)  # the number is on the button
    await user.send("9")
    assert "(2/4)" in user.text
    await user.send("9")
    assert "(3/4)" in user.text
    await user.send("8")
    assert "(2/4)" in user.text
    await user.send("42")
    assert user.text == "Nomor itu tidak ada di pilihan. Pilih 7–9, 0."
    await user.send("9")  # the menu is still the one shown
    assert "(3/4)" in user.text
    await user.send("7")
    assert "Pedoman etika" in user.text
    await user.send("0")
    assert "Silakan pilih layanan" in user.text


async def test_console_next_is_nine_on_every_page(demo_app) -> None:
    out: list[str] = []
    console = ConsoleChat(demo_app.dispatcher, "console-7302", write=out.append)
    t = translator("id")
    await console.send("/pedoman", t)
    topic = next(line for line in out if "Netralitas pemilu" in line)
    await console.send(topic.strip().split(".", 1)[0], t)
    for page in ("(1/4)", "(2/4)", "(3/4)"):
        assert page in "\n".join(out)
        assert "  9. Berikutnya ▶" in out and "  0. ⬅ Menu utama" in out
        out.clear()
        await console.send("9", t)
    assert "(4/4)" in "\n".join(out) and "  8. ◀ Sebelumnya" in out
    out.clear()
    await console.send("5", t)
    assert out == ["Nomor itu tidak ada di pilihan. Pilih 7–8, 0."]
    await console.send("8", t)
    assert "(3/4)" in "\n".join(out)


async def test_a_case_card_keeps_its_numbers_when_the_death_is_confirmed(cli, demo_app) -> None:
    from tests.fakes.chat import Chat

    opened = await cli(
        "case", "open", "--nip", "199804212024011004", "--died", "2026-11-19 10:00",
        "--family-name", "Rahmat", "--relation", "child", "--phone", "081377778888",
    )  # fmt: skip
    assert opened.code == 0, opened
    officer = Chat(demo_app, "7401")  # Lestari Utami, the demo's 4-in-1 desk officer
    await officer.share_contact("081200000035")
    await officer.action("case:show:1")
    before = [c.id for c in officer.replies[-1].choices]
    assert "case:match:1" in before
    await officer.press("Konfirmasi wafat")
    await officer.press("Ya")
    await officer.action("case:show:1")
    after = [c.id for c in officer.replies[-1].choices]
    assert "case:match:1" not in after
    # Every button that stayed keeps its position (what a typed number picks).
    assert [i for i in before if i in after] == after[: len([i for i in before if i in after])]
