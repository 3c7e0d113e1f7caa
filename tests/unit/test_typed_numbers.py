"""Typed numbers for choices: navigation keeps its number whatever the content."""

from __future__ import annotations

from bot.messages import Choice, Reply
from bot.numbering import numbered, pick, ranges


def test_navigation_keeps_its_number_whatever_the_content() -> None:
    first = [Choice("a", "A"), Choice("n", "Berikutnya", nav="next"), Choice("home:menu", "Menu")]
    second = [
        Choice("p", "Sebelumnya", nav="prev"),
        Choice("a", "A"),
        Choice("b", "B"),
        Choice("n", "Berikutnya", nav="next"),
        Choice("home:menu", "Menu", nav="menu"),
    ]
    assert [n for n, _ in numbered(first)] == [1, 9, 0]
    assert [n for n, _ in numbered(second)] == [8, 1, 2, 9, 0]
    assert pick("9", [(n, c.id) for n, c in numbered(second)]) == "n"
    assert pick("#8", [(n, c.id) for n, c in numbered(second)]) == "p"
    assert ranges([8, 1, 2, 9, 0]) == "1–2, 8–9, 0"
    # Ten choices: content fills 1..8, navigation still fits in 9 and 0.
    many = [Choice(f"c{i}", str(i)) for i in range(8)]
    keys = [n for n, _ in numbered([*many, Choice("n", "N", nav="next"), Choice("home:menu", "M")])]
    assert keys == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    # Content one longer than the keys below "back" skips it: back stays 7 (a case card after a
    # passing button), and nothing collides.
    crowded = [*(Choice(f"c{i}", f"C{i}") for i in range(7)), Choice("b", "Back", nav="back")]
    assert [n for n, _ in numbered(crowded)] == [1, 2, 3, 4, 5, 6, 8, 7]
    # Past the free digits, content counts on and navigation moves, still without collisions.
    packed = [*(Choice(f"c{i}", f"C{i}") for i in range(9)), Choice("b", "Back", nav="back")]
    keys = [n for n, _ in numbered(packed)]
    assert keys[:9] == list(range(1, 10)) and keys[9] == 10
    # Reply keeps the flag through its label clipping.
    assert Reply("x", [Choice("n", "N" * 40, nav="next")]).choices[0].nav == "next"
