"""What each renderer does with its channel's limits: Telegram's text split, WhatsApp's limits
and typed numbers."""

from __future__ import annotations

from bot.channels.telegram import (
    TEXT_LIMIT,
)
from bot.channels.whatsapp_render import render, typed_choice
from bot.i18n import translator
from bot.messages import Choice, Reply, split_text


def test_split_text_respects_telegram_limit() -> None:
    text = "\n".join(f"baris {i} " + "x" * 50 for i in range(200))
    parts = split_text(text, TEXT_LIMIT)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "".join(p.replace("\n", "") for p in parts) == text.replace("\n", "")
    assert all(len(p) <= 4096 for p in split_text("y" * 10000, TEXT_LIMIT))


# -- rendering -------------------------------------------------------------------------------
def test_renderer_respects_whatsapp_limits() -> None:
    t = translator("id")
    three = Reply("Pilih", [Choice(f"x:{i}", f"Pilihan {i}") for i in range(3)])
    [buttons] = render(three, 5, t)
    assert buttons.kind == "buttons" and buttons.options[0][0] == "5~x:0"
    long_label = Reply("Pilih", [Choice("x:a", "Label yang lebih dari dua puluh")])
    assert render(long_label, 1, t)[0].kind == "list"
    same = Reply("Dua Budi", [Choice("x:1", "Budi"), Choice("x:2", "Budi")])
    assert render(same, 1, t)[0].kind == "list"  # button titles must differ
    many = Reply("Pilih", [Choice(f"x:{i}", f"Pilihan nomor {i}") for i in range(10)])
    [listed] = render(many, 1, t)
    assert listed.kind == "list" and len(listed.options) == 10
    assert all(len(title) <= 24 and len(desc or "") <= 72 for _, title, desc in listed.options)
    paged = Reply("Pilih", many.choices, request_phone="📱 Bagikan nomor HP saya")
    [first_page] = render(paged, 1, t)
    assert len(first_page.options) == 10 and first_page.options[-1][0] == "1~wa:page:1"
    body = Reply("x" * 3000, three.choices)
    parts = render(body, 1, t)
    assert [p.kind for p in parts] == ["text", "buttons"] and len(parts[1].text) <= 1024
    huge = render(Reply("y" * 9000), 1, t)
    assert [len(p.text) <= 4096 for p in huge] == [True, True, True]
    styled = render(Reply("*tebal* _miring_"), 1, t)[0].text
    assert styled != "*tebal* _miring_" and styled.replace("\u2060", "") == "*tebal* _miring_"


def test_typed_numbers_pick_the_shown_choice() -> None:
    options = [["a:1", "Profil"], ["a:2", "Bantuan"]]
    assert typed_choice("2", options) == "a:2"
    assert typed_choice(" 1. ", options) == "a:1"
    assert typed_choice("3", options) is None and typed_choice("dua", options) is None
    scores = [["s:1", "1"], ["s:2", "2"], ["back", "Kembali"]]
    assert typed_choice("2", scores) == "s:2"
