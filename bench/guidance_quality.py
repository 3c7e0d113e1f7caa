"""Guidance quality: question answering and the post checker, on tune and held-out sets.

    python -m bench.guidance_quality

Reads the labelled sets in tests/data/. Each set is either TUNE (the word lists, synonyms and
ranking were adjusted while looking at it) or HELD-OUT (written before any change and never
used to adjust anything: its figures are the honest ones):

- questions.csv (tune), questions_holdout.csv (held-out), questions_holdout2.csv (held-out 2,
  written in WhatsApp style for issue 13 before the search.toml changes of that round): topic,
  the passage keys that answer (any of them, "|"-separated), `also` (a second topic the answer
  must show, e.g. sanctions for a neutrality breach) and the language.
- captions.csv: "dev" rows (tune) and "holdout" rows (held-out in the first release; the
  second release added the words its README named as misses, so it is no longer clean);
  captions_tune.csv (tune, second release); captions_holdout.csv (held-out, written for the
  second release before its list changes).

Not part of the test run; tests/unit/test_guidance_quality.py asserts floors only.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.services import guidance, post_checker

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELS = ("flexing", "partisan", "sara", "hoax", "clean")
LANGS = ("id", "en")
QUESTION_SETS = {
    "tune": "questions.csv",
    "held-out": "questions_holdout.csv",
    "held-out 2": "questions_holdout2.csv",
}
CAPTION_SETS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "tune": (("captions.csv", "dev"), ("captions_tune.csv", None)),
    "held-out (old)": (("captions.csv", "holdout"),),
    "held-out (new)": (("captions_holdout.csv", None),),
}


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    support: int


@dataclass(frozen=True)
class QaScore:
    n: int
    top1: float  # the first passage shown is from the right topic
    passage: float  # the first passage shown is one that answers
    both: float | None  # questions spanning two topics: both shown (None: no such question)
    n_both: int
    extra: float  # questions about one topic that also show another (noise)


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def caption_rows(subset: str | None = None) -> list[dict[str, str]]:
    rows = _read("captions.csv")
    return [r for r in rows if subset is None or r["set"] == subset]


def caption_set(name: str, lang: str | None = None) -> list[dict[str, str]]:
    rows = [
        r
        for file, subset in CAPTION_SETS[name]
        for r in _read(file)
        if subset is None or r.get("set") == subset
    ]
    return [r for r in rows if lang is None or r.get("lang", "id") == lang]


def question_rows(name: str = "tune", lang: str | None = None) -> list[dict[str, str]]:
    rows = _read(QUESTION_SETS[name])
    return [r for r in rows if lang is None or r["lang"] == lang]


def predicted(content: guidance.Content, caption: str) -> set[str]:
    found = post_checker.check(content, caption, "id").labels - {"official"}
    return found or {"clean"}


def checker_scores(rows: list[dict[str, str]]) -> dict[str, LabelScore]:
    content = guidance.library().content()
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for row in rows:
        pred, gold = predicted(content, row["caption"]), {row["label"]}
        for label in pred & gold:
            tp[label] += 1
        for label in pred - gold:
            fp[label] += 1
        for label in gold - pred:
            fn[label] += 1
    scores = {}
    for label in LABELS:
        p_den, r_den = tp[label] + fp[label], tp[label] + fn[label]
        scores[label] = LabelScore(
            tp[label] / p_den if p_den else 1.0, tp[label] / r_den if r_den else 1.0, r_den
        )
    return scores


def qa_scores(rows: list[dict[str, str]]) -> QaScore:
    index = guidance.library().index()
    top1 = passage = both = n_both = extra = 0
    for row in rows:
        hits = index.answer(row["question"])
        first = hits[0] if hits else None
        if first is not None and first.topic == row["topic"]:
            top1 += 1
            if first.key in row["passage"].split("|"):
                passage += 1
        if row.get("also"):
            n_both += 1
            shown = {h.topic for h in hits}
            both += {row["topic"], row["also"]} <= shown
        else:
            extra += len({h.topic for h in hits} - {row["topic"]}) > 0
    n = len(rows) or 1
    single = (len(rows) - n_both) or 1
    return QaScore(
        len(rows),
        top1 / n,
        passage / n,
        both / n_both if n_both else None,
        n_both,
        extra / single,
    )


def top1_accuracy(rows: list[dict[str, str]]) -> float:
    return qa_scores(rows).top1


def main() -> None:
    print("question answering (first passage shown)")
    for name in QUESTION_SETS:
        for lang in (*LANGS, None):
            s = qa_scores(question_rows(name, lang))
            both = f"  both-topics={s.both:.2f} (n={s.n_both})" if s.both is not None else ""
            print(
                f"  qa[{name:10} {lang or 'all':3} n={s.n:2}]  top1={s.top1:.2f}  "
                f"passage={s.passage:.2f}  extra-topic={s.extra:.2f}{both}"
            )
    print("post checker (precision / recall per label)")
    for name in CAPTION_SETS:
        for lang in (None, *LANGS) if name != "held-out (old)" else (None,):
            rows = caption_set(name, lang)
            scores = checker_scores(rows)
            figures = "  ".join(
                f"{label} P={s.precision:.2f} R={s.recall:.2f}" for label, s in scores.items()
            )
            print(f"  checker[{name:14} {lang or 'all':3} n={len(rows):2}]  {figures}")


if __name__ == "__main__":
    main()
