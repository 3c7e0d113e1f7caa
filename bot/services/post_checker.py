"""Cek unggahan: points out what in a draft caption may break the guidance. An aid, not a verdict.

The rules and word lists are content files (locales/<lang>/guidance/checker.toml). Every
language's word lists are applied to every draft (an English-speaking user may still write in
Indonesian), and a finding is worded in the user's language through the rule id both files
share. Terms match on stems, so "memamerkan" meets "pamer" and "#CoblosNomor2" meets "coblos";
words are respelled first (the files' `spelling`: "yg" -> "yang", "lima" and "five" -> "5"), and
a term also matches written joined or split ("walikota" meets "calon wali kota", "5-star" meets
"5 star"). Some words count only beside a context word of their rule ("menang" beside a party,
"bintang 5" beside "hotel"), and so do signs such as the finger poses ✌️ ☝️ 🤟; words inside a
hashtag count on their own (#PKBMenang). The draft is only read here: nothing in this module
stores or logs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.i18n import LOCALES
from bot.services.guidance_content import CheckerConfig, Content, Rule
from bot.services.guidance_search import split_camel, split_hashtags, stem, words

MAX_PER_RULE = 3
MIN_JOINED = 6  # a term matches joined/split only when it is this long: "pan" never does
HASHTAG = re.compile(r"#(\w+)")
VARIATION = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")  # emoji presentation and skin tones


@dataclass(frozen=True)
class Finding:
    rule_id: str
    label: str  # category: flexing, partisan, sara, hoax, official
    topic: str
    phrase: str  # as written in the draft
    name: str
    rule: str
    safer: str


@dataclass(frozen=True)
class CheckResult:
    findings: tuple[Finding, ...]
    official_reminder: str | None

    @property
    def labels(self) -> set[str]:
        return {f.label for f in self.findings}


Token = tuple[str, int, int]  # respelled word, start and end in the lowered draft


def _respelled(text: str, spelling: dict[str, str]) -> list[Token]:
    """Words of a text as the lists write them: hyphenated parts apart, slang respelled."""
    out: list[Token] = []
    for word, start, _end in words(text):
        for part in re.finditer(r"[^-]+", word):
            piece = part.group(0)
            s, e = start + part.start(), start + part.end()
            replaced = spelling.get(piece)
            if replaced is None:
                out.append((piece, s, e))
            else:
                out += [(w, s, e) for w, _, _ in words(replaced)]
    return out


@lru_cache(maxsize=8192)
def _term_words(term: str, spelling: tuple[tuple[str, str], ...]) -> tuple[tuple[str, bool], ...]:
    """Each word of a term and whether it is a base word (its own stem).

    A base word also matches its derived forms ("pamer" meets "memamerkan"); a word written in a
    derived form matches only as written, because stemming it would widen it past its meaning
    ("pendatang" would become "datang", "kampungan" "kampung", "kabarnya" "kabar").
    """
    return tuple((w, stem(w) == w) for w, _, _ in _respelled(term.lower(), dict(spelling)))


class _Draft:
    def __init__(self, text: str, spelling: dict[str, str]) -> None:
        self.spelling = spelling
        self.key = tuple(sorted(spelling.items()))
        self.lowered = split_hashtags(text).lower()
        self.tokens = _respelled(self.lowered, spelling)
        self.stems = [stem(w) for w, _, _ in self.tokens]
        self.plain = VARIATION.sub("", text)
        self.hashtags = [
            (m.group(0), split_camel(m.group(1)).lower()) for m in HASHTAG.finditer(text)
        ]

    def find(self, term: str) -> tuple[int, str] | None:
        """(position, phrase as written) of the first place the term is written in the draft."""
        wanted = _term_words(term, self.key)
        n = len(wanted)
        if not n:
            return None
        joined = "".join(w for w, _ in wanted)
        tokens, stems = self.tokens, self.stems
        for i in range(len(tokens)):
            if i + n <= len(tokens) and all(
                tokens[i + j][0] == w or (base and stems[i + j] == w)
                for j, (w, base) in enumerate(wanted)
            ):
                return self._phrase(i, i + n - 1)
            if len(joined) < MIN_JOINED:
                continue
            run = ""
            for k in range(i, min(len(tokens), i + n + 2)):
                run += tokens[k][0]
                if run == joined and k - i + 1 != n:
                    return self._phrase(i, k)
                if not joined.startswith(run):
                    break
        return None

    def _phrase(self, first: int, last: int) -> tuple[int, str]:
        start, end = self.tokens[first][1], self.tokens[last][2]
        return start, self.lowered[start:end]


def _matches(rule: Rule, draft: _Draft) -> list[tuple[int, str]]:
    """(position, phrase as written) for each term, pattern or sign of the rule in the draft."""
    found: dict[str, int] = {}
    for term in rule.terms:
        hit = draft.find(term)
        if hit:
            found.setdefault(hit[1], hit[0])
    for pattern in rule.patterns:
        match = pattern.search(draft.lowered)
        if match:
            found.setdefault(match.group(0).strip(), match.start())
    for tag, tag_words in draft.hashtags:
        parts = set(tag_words.split())
        if any(term in parts for term in rule.hashtag_terms):
            found.setdefault(tag.lower(), draft.lowered.find(tag_words.split()[0]))
    if rule.context and (rule.context_terms or rule.signals):
        in_context = bool(found) or any(draft.find(term) for term in rule.context)
        if in_context:
            for term in rule.context_terms:
                hit = draft.find(term)
                if hit:
                    found.setdefault(hit[1], hit[0])
            for signal in rule.signals:
                sign = VARIATION.sub("", signal)
                if sign and sign in draft.plain:
                    found.setdefault(signal, len(draft.lowered) + draft.plain.find(sign))
    ordered = sorted(found.items(), key=lambda kv: kv[1])
    # A shorter hit inside a longer one ("saldo" in "saldo rekening") says nothing new.
    phrases = [p for p, _ in ordered]
    kept = [(pos, p) for p, pos in ordered if not any(p != q and p in q for q in phrases)]
    return kept[:MAX_PER_RULE]


def _localised(content: Content, locale: str, rule_id: str, fallback: Rule) -> Rule:
    lang = locale if locale in content.checker else LOCALES[0]
    for rule in content.checker[lang].rules:
        if rule.id == rule_id:
            return rule
    return fallback


def _safer(rule: Rule, phrase: str, term_rules: list[Rule]) -> str:
    for candidate in term_rules:
        for key, text in candidate.safer_for.items():
            if key in phrase or phrase in key:
                return text
    return rule.safer


def check(content: Content, text: str, locale: str, *, official: bool = False) -> CheckResult:
    """Findings for a draft, in the order they appear in it."""
    configs: list[CheckerConfig] = [content.checker[lang] for lang in LOCALES]
    spelling = {k: v for config in configs for k, v in config.spelling.items()}
    draft = _Draft(text, spelling)
    hits: list[tuple[int, Finding]] = []
    seen: set[tuple[str, str]] = set()
    for config in configs:
        for rule in config.rules:
            if rule.official_only and not official:
                continue
            shown = _localised(content, locale, rule.id, rule)
            for position, phrase in _matches(rule, draft):
                if (rule.id, phrase) in seen:
                    continue
                seen.add((rule.id, phrase))
                finding = Finding(
                    rule_id=rule.id,
                    label=rule.label,
                    topic=rule.topic,
                    phrase=phrase,
                    name=shown.name,
                    rule=shown.rule,
                    # Phrase-specific advice only from the reader's language: an Indonesian
                    # "coblos" hint must not leak into an English answer.
                    safer=_safer(shown, phrase, [shown] if shown is not rule else [rule]),
                )
                hits.append((position, finding))
    hits.sort(key=lambda h: h[0])
    reminder = None
    if official:
        lang = locale if locale in content.checker else LOCALES[0]
        reminder = content.checker[lang].official_reminder or None
    return CheckResult(tuple(f for _, f in hits), reminder)
