"""Typed numbers for choices, the same on every channel where people type them (WhatsApp, the
console): content choices are 1, 2, 3 … in order; navigation keeps one fixed number on every
screen — 9 next, 8 previous, 7 back, 0 menu — so typing "9" always turns the page.

Ten keys (0–9) cover the at most ten choices of a reply: content counts up from 1, skipping the
keys of the navigation shown on the same screen, and navigation takes 0 and counts down from 9.
Only when content needs more than the free digits does a navigation key taken by content fall
back to the next free number.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.messages import Choice

NAV_KEYS = {"menu": 0, "next": 9, "prev": 8, "back": 7}
MENU_ACTION = "home:menu"


def role(choice: Choice) -> str | None:
    if choice.nav in NAV_KEYS:
        return choice.nav
    return "menu" if choice.id == MENU_ACTION else None


def numbered(choices: Sequence[Choice]) -> list[tuple[int, Choice]]:
    """(number to type, choice) in the order the choices are shown."""
    content = [c for c in choices if role(c) is None]
    keys: dict[int, int] = {}  # index in choices -> number
    # Content skips the keys of the navigation on this screen while single digits suffice, so
    # "7 back" stays 7 when a passing button (a confirmation) makes the content one longer.
    reserved = {NAV_KEYS[r] for c in choices if (r := role(c)) is not None}
    free = [k for k in range(1, 10) if k not in reserved]
    numbers = iter(free if len(content) <= len(free) else range(1, 100))
    for i, c in enumerate(choices):
        if role(c) is None:
            keys[i] = next(numbers)
    taken = set(keys.values())
    for i, c in enumerate(choices):
        r = role(c)
        if r is None:
            continue
        key = NAV_KEYS[r]
        if key in taken:
            key = next(k for k in range(len(content) + 1, 100) if k not in taken)
        taken.add(key)
        keys[i] = key
    return [(keys[i], c) for i, c in enumerate(choices)]


def pick(typed: str, keys: Sequence[tuple[int, str]]) -> str | None:
    """The payload of a typed number ("9", "9.", "#9"), or None."""
    text = typed.strip().removeprefix("#").rstrip(".")
    if not text.isdigit() or len(text) > 3:
        return None
    number = int(text)
    return next((payload for key, payload in keys if key == number), None)


def is_number(typed: str) -> bool:
    text = typed.strip().removeprefix("#").rstrip(".")
    return text.isdigit() and len(text) <= 4


def ranges(numbers: Sequence[int]) -> str:
    """ "1–6, 9, 0": the numbers a screen takes, content first, 0 last."""
    ordered = sorted(k for k in numbers if k) + ([0] if 0 in numbers else [])
    parts: list[str] = []
    run: list[int] = []
    for k in ordered:
        if run and k == run[-1] + 1 and k != 0:
            run.append(k)
            continue
        if run:
            parts.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [k]
    if run:
        parts.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(parts)
