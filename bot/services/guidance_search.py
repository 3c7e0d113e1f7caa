"""Answering free-text questions from the guidance: BM25 (bm25s) over both languages' passages.

Text is analysed the same way for passages and questions: words, Indonesian stems (Sastrawi;
English words it leaves alone get a light suffix strip), then synonym groups from the content
files folded to one canonical term (so "medsos", "media sosial" and "social media" meet), then
stop words dropped. Both languages are in one index and a passage is known by (topic, key), the
same in every language, so an English question can find an Indonesian passage and the user
still reads the answer in their own language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache

import bm25s
import numpy as np

from bot.services.guidance import Content

# bm25s logs every index build at DEBUG/INFO; the terminal chat shares its screen with the logs.
logging.getLogger("bm25s").setLevel(logging.WARNING)

WORD = re.compile(r"[0-9a-z]+(?:-[0-9a-z]+)*%?")
MAX_NGRAM = 4


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    # Building Sastrawi's dictionary takes a third of a second: once per process.
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


def _english(word: str) -> str:
    """A deliberately light English suffix strip: plural and -ing/-ed forms meet their stem."""
    if len(word) <= 4 or word.endswith("ss"):
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    if any(ch.isdigit() for ch in word):
        return word  # numbers, "100%", "02": keep as written
    stemmed = _stemmer().stem(word)
    if not stemmed or " " in stemmed:
        stemmed = word  # Sastrawi splits some hyphenated words; keep them whole
    return _english(word) if stemmed == word else stemmed


def split_hashtags(text: str) -> str:
    """#HarisPastiMenang -> Haris Pasti Menang: hashtags carry words the checker must see."""
    return re.sub(
        r"#(\w+)", lambda m: " " + re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", m.group(1)) + " ", text
    )


def words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) over the lower-cased text; offsets let callers quote the original."""
    lowered = split_hashtags(text).lower()
    return [(m.group(0), m.start(), m.end()) for m in WORD.finditer(lowered)]


class Analyzer:
    def __init__(self, synonyms: list[tuple[str, ...]], stopwords: set[str]) -> None:
        self.phrases: dict[tuple[str, ...], str] = {}
        for group in synonyms:
            if not group:
                continue
            canonical = "_".join(self.stems(group[0]))
            for phrase in group:
                key = tuple(self.stems(phrase))
                if key:
                    self.phrases.setdefault(key, canonical)  # first file, first group wins
        self.stopwords = {stem(w.lower()) for w in stopwords} | {w.lower() for w in stopwords}
        self.domain = set(self.phrases.values())
        self.longest = min(MAX_NGRAM, max((len(k) for k in self.phrases), default=1))

    @staticmethod
    def stems(text: str) -> list[str]:
        return [stem(w) for w, _, _ in words(text)]

    def tokens(self, text: str) -> list[str]:
        raw = self.stems(text)
        out: list[str] = []
        i = 0
        while i < len(raw):
            for n in range(min(self.longest, len(raw) - i), 0, -1):
                canonical = self.phrases.get(tuple(raw[i : i + n]))
                if canonical is not None:
                    out.append(canonical)
                    i += n
                    break
            else:
                if raw[i] not in self.stopwords:
                    out.append(raw[i])
                i += 1
        return out


@dataclass(frozen=True)
class Hit:
    topic: str
    key: str
    score: float


class GuidanceIndex:
    """One BM25 index over every passage of every topic in every language."""

    def __init__(self, content: Content) -> None:
        self.content = content
        synonyms = [g for cfg in content.search.values() for g in cfg.synonyms]
        stopwords = {w for cfg in content.search.values() for w in cfg.stopwords}
        self.analyzer = Analyzer(synonyms, stopwords)
        self.entries: list[tuple[str, str]] = []
        corpus: list[list[str]] = []
        for topics in content.topics.values():
            for topic in topics.values():
                for key, text in topic.passages():
                    # The title travels with every passage: it names what the passage is about.
                    corpus.append(self.analyzer.tokens(f"{topic.title}\n{text}") or ["_"])
                    self.entries.append((topic.id, key))
        self.bm25 = bm25s.BM25()
        self.bm25.index(corpus, show_progress=False)

    def search(self, query: str, *, limit: int = 3, min_score: float | None = None) -> list[Hit]:
        """The best passages for a question, best first; empty when nothing is relevant enough."""
        tokens = self.analyzer.tokens(query)
        if not tokens:
            return []
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=float)
        best: dict[tuple[str, str], float] = {}
        for i in np.argsort(-scores, kind="stable"):
            score = float(scores[i])
            if score <= 0:
                break
            key = self.entries[int(i)]
            best[key] = max(best.get(key, 0.0), score)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        if min_score is None and ranked:
            # BM25 scores are not comparable across questions, so a bare threshold lets "harga
            # emas hari ini" through on the word "harga". A question is about the guidance when
            # it uses the guidance's own vocabulary (a synonym group) and clears min_score, or,
            # without such a word, when it matches far better than chance (strong_score).
            domain = any(tok in self.analyzer.domain for tok in tokens)
            threshold = self.min_score if domain else self.strong_score
        else:
            threshold = min_score or 0.0
        return [Hit(t, k, s) for (t, k), s in ranked if s >= threshold][:limit]

    @property
    def min_score(self) -> float:
        return min(cfg.min_score for cfg in self.content.search.values())

    @property
    def strong_score(self) -> float:
        return min(cfg.strong_score for cfg in self.content.search.values())

    def best_topic(self, query: str) -> str | None:
        hits = self.search(query, limit=1)
        return hits[0].topic if hits else None
