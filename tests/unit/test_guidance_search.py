"""Unit behaviour of the guidance search (bot/services/guidance_search.py) on the real content."""

from __future__ import annotations

import pytest

from bot.services import guidance
from bot.services.guidance_search import GuidanceIndex


@pytest.fixture(scope="module")
def index() -> GuidanceIndex:
    return guidance.library().index()


def _first(index: GuidanceIndex, question: str) -> tuple[str, str]:
    hits = index.answer(question)
    assert hits, question
    return hits[0].topic, hits[0].key


@pytest.mark.parametrize(
    "question",
    [
        "boleh bagikan poster paslon ayo coblos nomor 2?",
        "can I share a poster saying vote number 2?",
    ],
)
def test_the_rule_comes_before_the_example_unless_an_example_is_asked(
    index: GuidanceIndex, question: str
) -> None:
    topic, key = _first(index, question)
    assert topic == "netralitas" and key != "example"


def test_an_asked_for_example_is_shown(index: GuidanceIndex) -> None:
    assert _first(index, "contoh poster paslon ayo coblos nomor 2") == ("netralitas", "example")
