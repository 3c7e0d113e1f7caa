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


@pytest.mark.parametrize(
    "question",
    [
        "what happens if I like a candidate's post?",
        "will I get in trouble for sharing a campaign poster?",
    ],
)
def test_an_english_question_about_consequences_shows_the_sanctions(
    index: GuidanceIndex, question: str
) -> None:
    topics = [h.topic for h in index.answer(question)]
    assert topics == ["sanksi", "netralitas"]  # the sanction first, then the breach it is for


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("foto sama paslon aman gak sih?", "netralitas"),
        ("is it safe to post my new car?", "sederhana"),
    ],
)
def test_asking_whether_it_is_safe_is_not_about_account_safety(
    index: GuidanceIndex, question: str, topic: str
) -> None:
    # "aman" / "safe" only ask whether it is allowed: the password advice is not shown beside.
    assert [h.topic for h in index.answer(question)] == [topic]


def test_an_english_spelling_does_not_rewrite_an_indonesian_question(index: GuidanceIndex) -> None:
    # "y" is "ya" in an Indonesian chat; the English table's "y" = "why" must not apply.
    assert "mengapa" not in index.analyzer.tokens("boleh posting foto paslon y?")
    assert "mengapa" in index.analyzer.tokens("y is it not allowed to post a pic?")


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("apa sanksi kalau asn tidak netral?", "id"),
        ("klo ketauan dukung paslon di fb hukumannya apa?", "id"),
        ("what is the penalty for flexing", "en"),
        ("can u post this", "en"),
    ],
)
def test_a_question_s_language_is_told_from_its_words(
    index: GuidanceIndex, question: str, lang: str
) -> None:
    assert index.analyzer.language(question) == lang


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("why blur the face", "why blurring faces"),
        ("why edit the caption", "why is he editing captions"),
        ("why did they delete it", "why are they deleting it"),
        ("why mention the names", "why mentioning a name"),
    ],
)
def test_english_word_forms_meet(index: GuidanceIndex, one: str, other: str) -> None:
    # Sastrawi is for Indonesian ("deleting" -> "deting"); English forms share one stem.
    assert index.analyzer.tokens(one)[1:] == index.analyzer.tokens(other)[1:]
