"""Guidance quality: the post checker's precision/recall per label and question top-1 accuracy.

    python -m bench.guidance_quality

Reads the labelled sets in tests/data/. Not part of the test run; the tests assert floors only.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.services import guidance, post_checker

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
LABELS = ("flexing", "partisan", "sara", "hoax", "clean")


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    support: int


def caption_rows(subset: str | None = None) -> list[dict[str, str]]:
    with (DATA / "captions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r for r in rows if subset is None or r["set"] == subset]


def question_rows() -> list[dict[str, str]]:
    with (DATA / "questions.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


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


def top1_accuracy(rows: list[dict[str, str]]) -> float:
    index = guidance.library().index()
    right = sum(index.best_topic(r["question"]) == r["topic"] for r in rows)
    return right / len(rows)


def main() -> None:
    for subset in (None, "dev", "holdout"):
        rows = caption_rows(subset)
        scores = checker_scores(rows)
        figures = "  ".join(
            f"{label} P={s.precision:.2f} R={s.recall:.2f}" for label, s in scores.items()
        )
        print(f"checker[{subset or 'all'}, n={len(rows)}]  {figures}")
    questions = question_rows()
    print(f"qa top-1 = {top1_accuracy(questions):.2f} (n={len(questions)})")


if __name__ == "__main__":
    main()
