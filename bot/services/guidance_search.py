"""Answering free-text questions from the guidance: BM25 (bm25s) over both languages' passages.

Text is analysed the same way for passages and questions: words respelled with the table of the
text's language (a question's language is told from its words), stems (Sastrawi for Indonesian
words; an English suffix stemmer for English text and for words Sastrawi cannot make a known
root of), then synonym groups from the content files folded to one canonical term (so "medsos",
"media sosial" and "social media" meet), then stop words dropped. Both languages are in one
index and a passage is known by (topic, key), the same in every language, so an English question
can find an Indonesian passage and the user still reads the answer in their own language.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

import bm25s
import numpy as np
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from bot.i18n import LOCALES
from bot.services.guidance_content import Content

# bm25s logs every index build at DEBUG/INFO; the terminal chat shares its screen with the logs.
logging.getLogger("bm25s").setLevel(logging.WARNING)

WORD = re.compile(r"[0-9a-z]+(?:-[0-9a-z]+)*%?")
MAX_NGRAM = 4
FOCUS_SHARE = 0.3  # an asked-for topic leads the answer when it scores this share of the best
YIELD_SHARE = 0.6  # an unasked focus topic gives the lead to a rule topic this close to it
EXAMPLE_WEIGHT = 0.8  # an example answers a question only when it asks for one
EXAMPLE_WORDS = frozenset({"contoh", "contohnya", "misalnya", "example", "examples", "instance"})


# Asking whether something is allowed, not words about it: "aman ga?", "is it safe?".
FILLERS = re.compile(
    r"\baman\s*(?:ga|gak|gk|g|nggak|ngga|enggak|engga|tidak|ndak|kah|nggk)?\s*(?:sih|ya|yah)?"
    r"(?=\s*[?!.]|\s*$)|\bis\s+(?:it|this|that)\s+(?:safe|ok|okay|alright|fine)\b",
    re.IGNORECASE,
)


def _asked(question: str) -> str:
    return FILLERS.sub(" ", question)


# English function words the Indonesian stop word list also drops: they still tell the language.
ENGLISH_WORDS = frozenset(
    "the a an of to in is it my i can on what who should do does for are be if will how why".split()
)


class _Words(Protocol):
    def contains(self, word: str) -> bool: ...


@cache
def _stemmer() -> Any:  # Sastrawi ships no type information
    # Building Sastrawi's dictionary takes a third of a second: once per process.
    return StemmerFactory().create_stemmer()


@cache
def _root_words() -> _Words:
    # Sastrawi's dictionary of Indonesian root words: "dinas", "jelas", "bagus" are words, not
    # English plurals, so the English suffix strip must leave them alone.
    return _stemmer().delegatedStemmer.get_dictionary()


def _english(word: str) -> str:
    """A deliberately light English suffix strip: plural and -ing/-ed forms meet their stem."""
    if len(word) <= 4 or word.endswith("ss"):
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


@lru_cache(maxsize=65536)
def stem_english(word: str) -> str:
    """An English word's stem, the same for its forms: delete, deletes, deleted, deleting -> delet.

    Light on purpose (plural, -ing, -ed, a final e, a doubled consonant); Indonesian words in an
    English text ("dinas", "kelas") are left alone when the Indonesian dictionary knows them.
    """
    if any(ch.isdigit() for ch in word) or len(word) <= 3:
        return word
    if word.endswith("s") and _root_words().contains(word):
        return word
    base = word
    if base.endswith("ies") and len(base) > 4:
        base = base[:-3] + "y"
    elif base.endswith("s") and not base.endswith(("ss", "us", "is")):
        base = base[:-1]
    for suffix in ("ing", "ed"):
        if base.endswith(suffix) and len(base) - len(suffix) >= 3:
            base = base[: -len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # shopping -> shop, but "called", "passed" keep theirs
            break
    if base.endswith("e") and len(base) > 3 and not base.endswith("ee"):
        base = base[:-1]
    return base


@lru_cache(maxsize=65536)
def search_stem(word: str) -> str:
    """Sastrawi for Indonesian words, the English stemmer for the rest: Sastrawi makes "deleting"
    "deting", a root no dictionary knows; a word it turns into a known root stays Indonesian."""
    stemmed = stem(word)
    if any(ch.isdigit() for ch in word) or _root_words().contains(word):
        return stemmed
    if stemmed != word and _root_words().contains(stemmed):
        return stemmed
    return stem_english(word)


@lru_cache(maxsize=65536)
def english_text_stem(word: str) -> str:
    """A word of an English text: English unless the Indonesian dictionary knows it ("dinas")."""
    return stem(word) if _root_words().contains(word) else stem_english(word)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    if any(ch.isdigit() for ch in word):
        return word  # numbers, "100%", "02": keep as written
    stemmed = _stemmer().stem(word)
    if not stemmed or " " in stemmed:
        stemmed = word  # Sastrawi splits some hyphenated words; keep them whole
    if stemmed != word:
        return stemmed
    return word if _root_words().contains(word) else _english(word)


def split_hashtags(text: str) -> str:
    """#HarisPastiMenang -> Haris Pasti Menang: hashtags carry words the checker must see."""
    return re.sub(r"#(\w+)", lambda m: " " + split_camel(m.group(1)) + " ", text)


def split_camel(tag: str) -> str:
    """HarisPastiMenang -> Haris Pasti Menang, PKBMenang -> PKB Menang, 2024Ganti -> 2024 Ganti."""
    tag = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", tag)
    tag = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", tag)
    return re.sub(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])", " ", tag)


def words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) over the lower-cased text; offsets let callers quote the original."""
    lowered = split_hashtags(text).lower()
    return [(m.group(0), m.start(), m.end()) for m in WORD.finditer(lowered)]


REDUPLICATED = re.compile(r"^([a-z]{3,})2$")  # "jalan2" (jalan-jalan), "temen2"


def respell(word: str, spelling: dict[str, str]) -> list[str]:
    """A typed word as the guidance spells it: slang, abbreviations, "jalan2" -> "jalan"."""
    replaced = spelling.get(word)
    if replaced is None:
        m = REDUPLICATED.match(word)
        if m:
            replaced = spelling.get(m.group(1), m.group(1))
    if replaced is None:
        return [word]
    return [w for w, _, _ in words(replaced)]


class Analyzer:
    """Text to search terms: respelled words, stems, synonym phrases folded, stop words dropped.

    Each language has its own spelling table ("y" is "ya" in an Indonesian chat and "why" in an
    English one): a text is respelled with the table of its language, and with the other
    languages' tables only for words of three letters or more that its own does not list (a
    typo such as "goverment" means the same in any language; "y", "sp", "pic" do not).
    """

    def __init__(
        self,
        synonyms: list[tuple[str, ...]],
        stopwords: set[str],
        spelling: dict[str, str] | None = None,
        *,
        spellings: dict[str, dict[str, str]] | None = None,
        markers: dict[str, set[str]] | None = None,
    ) -> None:
        self.spelling = dict(spelling or {})
        self.markers = markers or {}
        self.tables: dict[str | None, dict[str, str]] = {None: self.spelling}
        for lang, own in (spellings or {}).items():
            table: dict[str, str] = {}
            for other_lang, other in (spellings or {}).items():
                if other_lang != lang:
                    table.update({k: v for k, v in other.items() if len(k) >= 3})
            self.tables[lang] = table | own
        self.phrases: dict[tuple[str, ...], str] = {}
        for group in synonyms:
            if not group:
                continue
            canonical = "_".join(self.stems(group[0]))
            for phrase in group:
                for spelt in self.tables:  # as a text in any language would spell it
                    key = tuple(self.stems(phrase, spelt))
                    if key:
                        self.phrases.setdefault(key, canonical)  # first file, first group wins
        self.stopwords = {
            s
            for w in stopwords
            for s in (
                w.lower(),
                stem(w.lower()),
                search_stem(w.lower()),
                english_text_stem(w.lower()),
            )
        }
        self.domain = set(self.phrases.values())
        self.longest = min(MAX_NGRAM, max((len(k) for k in self.phrases), default=1))

    def language(self, text: str) -> str | None:
        """The language whose own words (stop words, spellings) the text uses most (ties: the
        first language); None when the analyzer knows no languages."""
        if not self.markers:
            return None
        typed = [w for w, _, _ in words(text)]
        counts = {lang: sum(w in own for w in typed) for lang, own in self.markers.items()}
        top = max(counts.values())
        best = [lang for lang, n in counts.items() if n == top]
        return best[0] if len(best) == 1 else next(iter(self.markers))

    def stems(self, text: str, lang: str | None = None) -> list[str]:
        table = self.tables.get(lang, self.spelling)
        stemmer = english_text_stem if lang == "en" else search_stem
        return [stemmer(r) for w, _, _ in words(text) for r in respell(w, table)]

    def tokens(self, text: str, lang: str | None = None) -> list[str]:
        """Search terms of a text in `lang`; a question's language is told from its words."""
        raw = self.stems(text, lang if lang is not None else self.language(text))
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


def _units(key: str, text: str) -> list[str]:
    """The smallest pieces of a passage that can answer: a paragraph, a bullet, one do or don't.

    A page's heading says what the page answers, so it goes with each of its pieces.
    """
    if key in ("dos", "donts") or key == "example":
        return [line for line in text.splitlines() if line.strip()] or [text]
    heading, _, body = text.partition("\n")
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", body):
        lines = [ln for ln in paragraph.splitlines() if ln.strip()]
        if len(lines) > 1 and all(ln.lstrip().startswith(("•", "-", "*")) for ln in lines):
            pieces += lines
        elif lines:
            pieces.append(" ".join(lines))
    return [f"{heading}\n{piece}" for piece in pieces] or [text]


class GuidanceIndex:
    """BM25 over every passage of every topic in every language, and over their pieces.

    A passage (a page, the do's, the don'ts, the example) is ranked by its best piece (a
    paragraph or a single do/don't line) plus a share of its own score: the piece says which
    passage answers ("like, komentar, share" beats the topic's introduction for "boleh like
    postingan caleg?"), the whole passage breaks ties between pieces.
    """

    PASSAGE_WEIGHT = 1.0

    def __init__(self, content: Content) -> None:
        self.content = content
        synonyms = [g for cfg in content.search.values() for g in cfg.synonyms]
        stopwords = {w for cfg in content.search.values() for w in cfg.stopwords}
        spelling = {k: v for cfg in content.search.values() for k, v in cfg.spelling.items()}
        # A language's markers: its own stop words and spellings, less the other languages'
        # spellings (the Indonesian stop words also list English ones to drop them: "should").
        own = {
            lang: {w.lower() for w in cfg.stopwords} | set(cfg.spelling)
            for lang, cfg in content.search.items()
        }
        markers = {
            lang: words_
            - {
                w
                for other, cfg in content.search.items()
                if other != lang
                for w in (*cfg.spelling, *(own[other] if lang == LOCALES[0] else ()))
            }
            for lang, words_ in own.items()
        }
        for lang in markers:
            markers[lang] = (
                markers[lang] | ENGLISH_WORDS if lang == "en" else markers[lang] - ENGLISH_WORDS
            )
        self.analyzer = Analyzer(
            synonyms,
            stopwords,
            spelling,
            spellings={lang: dict(cfg.spelling) for lang, cfg in content.search.items()},
            markers=markers,
        )
        self.entries: list[tuple[str, str]] = []
        self.unit_entries: list[int] = []  # unit -> index into entries
        corpus: list[list[str]] = []
        units: list[list[str]] = []
        for lang, topics in content.topics.items():
            for topic in topics.values():
                for key, text in topic.passages():
                    # The title travels with every passage: it names what the passage is about.
                    corpus.append(self.analyzer.tokens(f"{topic.title}\n{text}", lang) or ["_"])
                    for unit in _units(key, text):
                        unit_text = f"{topic.title}\n{unit}"
                        units.append(self.analyzer.tokens(unit_text, lang) or ["_"])
                        self.unit_entries.append(len(self.entries))
                    self.entries.append((topic.id, key))
        self.bm25 = bm25s.BM25()
        self.bm25.index(corpus, show_progress=False)
        self.units = bm25s.BM25()
        self.units.index(units, show_progress=False)
        self.focus: dict[str, set[str]] = {}
        for lang, cfg in content.search.items():
            for topic_id, terms in cfg.focus.items():
                for term in terms:
                    focus = "_".join(self.analyzer.tokens(term, lang))
                    self.focus.setdefault(topic_id, set()).add(focus)

    def _ranked(self, tokens: list[str]) -> tuple[list[tuple[tuple[str, str], float]], float]:
        """Passages (topic, key) by combined score, best first, and the best passage score."""
        whole = np.asarray(self.bm25.get_scores(tokens), dtype=float)
        pieces = np.asarray(self.units.get_scores(tokens), dtype=float)
        best_piece = np.zeros(len(self.entries))
        for unit, entry in enumerate(self.unit_entries):
            best_piece[entry] = max(best_piece[entry], pieces[unit])
        combined = best_piece + self.PASSAGE_WEIGHT * whole
        best: dict[tuple[str, str], float] = {}
        top_whole = 0.0
        for i, key in enumerate(self.entries):
            if whole[i] <= 0:
                continue
            top_whole = max(top_whole, float(whole[i]))
            best[key] = max(best.get(key, 0.0), float(combined[i]))
        return sorted(best.items(), key=lambda kv: -kv[1]), top_whole

    def _threshold(self, tokens: list[str], min_score: float | None) -> float:
        if min_score is not None:
            return min_score
        # BM25 scores are not comparable across questions, so a bare threshold lets "harga
        # emas hari ini" through on the word "harga". A question is about the guidance when
        # it uses the guidance's own vocabulary (a synonym group) and clears min_score, or,
        # without such a word, when it matches far better than chance (strong_score).
        domain = any(tok in self.analyzer.domain for tok in tokens)
        return self.min_score if domain else self.strong_score

    def search(self, query: str, *, limit: int = 3, min_score: float | None = None) -> list[Hit]:
        """The best passages for a question, best first; empty when nothing is relevant enough."""
        tokens = self.analyzer.tokens(_asked(query))
        if not tokens:
            return []
        ranked, top_whole = self._ranked(tokens)
        if top_whole < self._threshold(tokens, min_score):
            return []
        return [Hit(t, k, s) for (t, k), s in ranked][:limit]

    def answer(self, query: str, *, limit: int = 2) -> list[Hit]:
        """The passages an answer shows, in the order shown: the first one should answer.

        When the question names what it asks for ("sanksi", "hukumannya") that topic's best
        passage comes first and the topic of the breach it asks about (neutrality) follows when
        its best passage scores a fair share of the first; without such words a second topic
        is shown only when it scores nearly as well as the first (second_topic_ratio).
        """
        tokens = self.analyzer.tokens(_asked(query))
        hits = self.search(query, limit=len(self.entries))
        if not hits:
            return []
        # A topic ranks by its best passage; the passage it shows is its best one that answers:
        # "boleh share poster paslon?" asks for the rule, not the story of someone who did it.
        asks_example = bool(EXAMPLE_WORDS & {w for w, _, _ in words(query)})
        best: dict[str, Hit] = {}
        shown_by: dict[str, tuple[float, Hit]] = {}
        for hit in hits:
            best.setdefault(hit.topic, hit)
            weighted = hit.score * (1.0 if asks_example or hit.key != "example" else EXAMPLE_WEIGHT)
            if hit.topic not in shown_by or weighted > shown_by[hit.topic][0]:
                shown_by[hit.topic] = (weighted, hit)
        best = {t: Hit(t, shown_by[t][1].key, h.score) for t, h in best.items()}
        # The asked-for topic leads unless it barely matches ("gimana hukumnya?" asks for a rule).
        # A topic with focus words leads only when asked: "boleh share poster paslon?" asks what
        # the rule is, and the sanctions example about a shared poster is not the answer.
        asked = {t for t, terms in self.focus.items() if terms & set(tokens)}
        leading = [
            h for h in best.values() if h.topic in asked and h.score >= FOCUS_SHARE * hits[0].score
        ] or [
            h
            for h in best.values()
            if h.topic not in self.focus and h.score >= YIELD_SHARE * hits[0].score
        ]
        first = leading[0] if leading else best[hits[0].topic]
        shown = [first]
        others = [h for t, h in best.items() if t != first.topic]
        # A question that asks for a sanction is about some breach: its topic follows readily.
        # Otherwise a second topic must score nearly as well, or it is noise beside the answer.
        ratio = FOCUS_SHARE if first.topic in asked else self.second_topic_ratio
        if others and others[0].score >= ratio * first.score:
            shown.append(others[0])
        return shown[:limit]

    @property
    def second_topic_ratio(self) -> float:
        return self.content.search[LOCALES[0]].second_topic_ratio  # set in the main language

    @property
    def min_score(self) -> float:
        return min(cfg.min_score for cfg in self.content.search.values())

    @property
    def strong_score(self) -> float:
        return min(cfg.strong_score for cfg in self.content.search.values())

    def best_topic(self, query: str) -> str | None:
        hits = self.answer(query, limit=1)
        return hits[0].topic if hits else None
