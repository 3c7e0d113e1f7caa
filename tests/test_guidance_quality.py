"""Guidance content validity and the quality floors of retrieval and the post checker.

The floors are deliberately below the figures `python -m bench.guidance_quality` prints: the
labelled sets were written by the same people as the word lists (the "dev" rows before the
rules were tuned, the "holdout" rows after they were frozen), so the figures are optimistic and
the floors guard against regressions rather than claim accuracy.
"""

from __future__ import annotations

import re

import pytest

from bench.guidance_quality import caption_rows, checker_scores, question_rows, top1_accuracy
from bot.i18n import LOCALES, translator
from bot.messages import MAX_LABEL
from bot.services import guidance, post_checker

CHECKER_PRECISION_FLOOR = 0.85
CHECKER_RECALL_FLOOR = 0.80
QA_TOP1_FLOOR = 0.85
TOPICS = {"sederhana", "netralitas", "santun", "akun_resmi", "kinerja", "sanksi"}


def test_content_is_valid_in_every_language() -> None:
    content = guidance.load()
    for lang in LOCALES:
        assert set(content.topics[lang]) == TOPICS, lang
        t = translator(lang)
        for topic in content.topics[lang].values():
            assert topic.version >= 1 and topic.version == content.version(topic.id)
            assert len(topic.label) <= MAX_LABEL
            assert topic.dos and topic.donts and topic.example
            assert re.match(r"^(Sumber|Source):", topic.source)
            pages = guidance.render_pages(topic, t)
            assert len(pages) >= 3
            assert all(len(p) <= guidance.MAX_PAGE_CHARS for p in pages), topic.id
    sanksi = content.topic("id", "sanksi")
    assert sanksi is not None and "sumber" in guidance.render_pages(sanksi, translator("id"))[0]


def test_validation_reports_broken_content(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    for lang in LOCALES:
        shutil.copytree(guidance.LOCALES_DIR / lang / "guidance", tmp_path / lang / "guidance")
    topic = tmp_path / "en" / "guidance" / "topics" / "kinerja.toml"
    topic.write_text(
        topic.read_text() + '\n[[pages]]\nheading = "x"\ntext = """' + "y" * 1200 + '"""\n'
    )
    (tmp_path / "en" / "guidance" / "topics" / "santun.toml").unlink()
    with pytest.raises(guidance.ContentError) as err:
        guidance.load(tmp_path)
    problems = "\n".join(err.value.problems)
    assert "en: topic 'santun' missing" in problems
    assert "en/kinerja: page 2 has" in problems
    assert "differ in number" in problems


def test_question_answering_top1_floor() -> None:
    rows = question_rows()
    assert len(rows) >= 30
    assert {r["topic"] for r in rows} == TOPICS
    assert top1_accuracy(rows) >= QA_TOP1_FLOOR


@pytest.mark.parametrize(
    "question",
    ["resep rendang padang", "jadwal kereta api ke bandung", "harga emas hari ini", "weather"],
)
def test_off_topic_questions_get_nothing(question: str) -> None:
    assert guidance.library().index().search(question) == []


def test_checker_precision_and_recall_floors() -> None:
    rows = caption_rows()
    assert len(rows) >= 60
    assert {r["label"] for r in rows} == {"flexing", "partisan", "sara", "hoax", "clean"}
    for label, score in checker_scores(rows).items():
        assert score.precision >= CHECKER_PRECISION_FLOOR, (label, score)
        assert score.recall >= CHECKER_RECALL_FLOOR, (label, score)


def test_each_finding_names_phrase_rule_and_safer_wording() -> None:
    content = guidance.library().content()
    result = post_checker.check(content, "Dasar pejabat bodoh! SEBARKAN sebelum dihapus", "en")
    assert {f.label for f in result.findings} == {"sara", "hoax"}
    for finding in result.findings:
        assert finding.phrase and finding.rule and finding.safer
    assert result.findings[0].phrase == "bodoh" and result.findings[0].name == "Insults or abuse"
    assert result.official_reminder is None
    official = post_checker.check(content, "menurut saya ini bagus", "id", official=True)
    assert official.labels == {"official"} and official.official_reminder


def test_derived_words_do_not_widen_terms() -> None:
    content = guidance.library().content()
    # "pendatang" (SARA list) must not fire on "datang", nor "kabarnya" on "kabar".
    text = "Jangan lupa datang ke TPS. Cek fakta: kabar itu hoaks, info resmi di situs BKN"
    assert post_checker.check(content, text, "id").findings == ()
