"""Guidance content validity and the quality floors of retrieval and the post checker.

Two kinds of labelled sets (see bench/guidance_quality.py): TUNE sets, looked at while the
synonyms, word lists and ranking were adjusted, and HELD-OUT sets, written before any change
and never used to adjust anything. Floors on the held-out sets sit a little below what
`python -m bench.guidance_quality` measures, so they guard against regressions without
claiming more than was measured; the tune floors are higher because those sets were tuned on.
"""

from __future__ import annotations

import re

import pytest

from bench.guidance_quality import caption_set, checker_scores, qa_scores, question_rows
from bot.i18n import LOCALES, translator
from bot.messages import MAX_LABEL
from bot.services import guidance, post_checker

# (set, language) -> (top-1 topic, first passage) floors; measured figures in the comments.
QA_FLOORS = {
    ("tune", "id"): (0.92, 0.78),  # 0.95, 0.81
    ("tune", "en"): (0.92, 0.92),  # 0.95, 0.95
    ("held-out", "id"): (0.93, 0.83),  # 0.97, 0.88
    ("held-out", "en"): (0.90, 0.80),  # 0.95, 0.85
    # Written in WhatsApp style before the search.toml changes of issue 13 (before: 0.79,
    # 0.62 id; 0.75, 0.58 en).
    ("held-out 2", "id"): (0.88, 0.67),  # 0.92, 0.71
    ("held-out 2", "en"): (0.92, 0.80),  # 0.97, 0.86
}
# Questions spanning two topics (a sanction for a neutrality breach) show both.
BOTH_TOPICS_FLOOR = 0.85  # tune: 1.00 (n=7); held-out has only 2 such questions (1.00)
BOTH_TOPICS_HELD_OUT_2_FLOOR = 0.85  # held-out 2: 1.00 (n=7)
# set -> label -> (precision, recall) floors; measured figures in the comments.
CHECKER_FLOORS = {
    "tune": {label: (0.95, 0.95) for label in ("flexing", "partisan", "sara", "hoax", "clean")},
    # Held out in the first release; its README named the missed words, now in the lists.
    "held-out (old)": {
        "flexing": (0.95, 0.60),  # 1.00, 0.67
        "partisan": (0.95, 0.95),  # 1.00, 1.00
        "sara": (0.95, 0.95),  # 1.00, 1.00
        "hoax": (0.95, 0.95),  # 1.00, 1.00
        "clean": (0.75, 0.95),  # 0.80, 1.00
    },
    "held-out (new)": {
        "flexing": (0.95, 0.60),  # 1.00, 0.67
        "partisan": (0.95, 0.90),  # 1.00, 1.00
        "sara": (0.95, 0.45),  # 1.00, 0.50
        "hoax": (0.95, 0.70),  # 1.00, 0.78
        "clean": (0.55, 0.95),  # 0.62, 1.00
    },
}
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


def test_validation_reports_broken_content(tmp_path) -> None:
    import shutil

    for lang in LOCALES:
        shutil.copytree(guidance.LOCALES_DIR / lang / "guidance", tmp_path / lang / "guidance")
    topic = tmp_path / "en" / "guidance" / "topics" / "kinerja.toml"
    topic.write_text(
        topic.read_text() + '\n[[pages]]\nheading = "x"\ntext = """' + "y" * 1200 + '"""\n'
    )
    (tmp_path / "en" / "guidance" / "topics" / "santun.toml").unlink()
    search = tmp_path / "en" / "guidance" / "search.toml"  # ends in its [focus] table
    search.write_text(search.read_text() + 'nope = ["sanction"]\n')
    checker = tmp_path / "id" / "guidance" / "checker.toml"
    checker.write_text(
        checker.read_text().replace('context = [\n  "calon"', 'contexts = [\n  "calon"')
    )
    with pytest.raises(guidance.ContentError) as err:
        guidance.load(tmp_path)
    problems = "\n".join(err.value.problems)
    assert "en: topic 'santun' missing" in problems
    assert "en/kinerja: page 2 has" in problems
    assert "differ in number" in problems
    assert "focus names unknown topic 'nope'" in problems
    assert "context_terms and signals need context words" in problems


@pytest.mark.parametrize(("name", "lang"), sorted(QA_FLOORS))
def test_question_answering_floors(name: str, lang: str) -> None:
    rows = question_rows(name, lang)
    assert len(rows) >= 12
    if lang == "id":
        assert {r["topic"] for r in rows} == TOPICS
    score = qa_scores(rows)
    top1, passage = QA_FLOORS[name, lang]
    assert score.top1 >= top1, score
    assert score.passage >= passage, score


def test_questions_spanning_two_topics_show_both() -> None:
    score = qa_scores(question_rows("tune"))
    assert score.n_both >= 5 and score.both is not None
    assert score.both >= BOTH_TOPICS_FLOOR, score


def test_held_out_questions_spanning_two_topics_show_both() -> None:
    score = qa_scores(question_rows("held-out 2"))
    assert score.n_both >= 5 and score.both is not None
    assert score.both >= BOTH_TOPICS_HELD_OUT_2_FLOOR, score


@pytest.mark.parametrize(
    "question",
    ["resep rendang padang", "jadwal kereta api ke bandung", "harga emas hari ini", "weather"],
)
def test_off_topic_questions_get_nothing(question: str) -> None:
    assert guidance.library().index().search(question) == []


@pytest.mark.parametrize("name", sorted(CHECKER_FLOORS))
def test_checker_precision_and_recall_floors(name: str) -> None:
    rows = caption_set(name)
    assert len(rows) >= (60 if name != "held-out (old)" else 14)
    assert {r["label"] for r in rows} == {"flexing", "partisan", "sara", "hoax", "clean"}
    for label, score in checker_scores(rows).items():
        precision, recall = CHECKER_FLOORS[name][label]
        assert score.precision >= precision, (label, score)
        assert score.recall >= recall, (label, score)


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
