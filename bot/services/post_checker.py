"""Cek unggahan: points out what in a draft caption may break the guidance. An aid, not a verdict.

The rules and word lists are content files (locales/<lang>/guidance/checker.toml). Every
language's word lists are applied to every draft (an English-speaking user may still write in
Indonesian), and a finding is worded in the user's language through the rule id both files
share. Terms match on stems, so "memamerkan" meets "pamer" and "#CoblosNomor2" meets "coblos".
The draft is only read here: nothing in this module stores or logs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot.i18n import LOCALES
from bot.services.guidance import CheckerConfig, Content, Rule
from bot.services.guidance_search import split_hashtags, stem, words

MAX_PER_RULE = 3


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


@lru_cache(maxsize=4096)
def _term_words(term: str) -> tuple[tuple[str, bool], ...]:
    """Each word of a term and whether it is a base word (its own stem).

    A base word also matches its derived forms ("pamer" meets "memamerkan"); a word written in a
    derived form matches only as written, because stemming it would widen it past its meaning
    ("pendatang" would become "datang", "kampungan" "kampung", "kabarnya" "kabar").
    """
    return tuple((w, stem(w) == w) for w, _, _ in words(term))


def _matches(rule: Rule, text: str, lowered: str) -> list[tuple[int, str]]:
    """(position, phrase as written) for each term or pattern of the rule found in the draft."""
    tokens = words(text)
    stems = [stem(w) for w, _, _ in tokens]
    found: dict[str, tuple[int, str]] = {}
    for term in rule.terms:
        wanted = _term_words(term)
        n = len(wanted)
        if not n:
            continue
        for i in range(len(stems) - n + 1):
            if all(
                tokens[i + j][0] == w or (base and stems[i + j] == w)
                for j, (w, base) in enumerate(wanted)
            ):
                start, end = tokens[i][1], tokens[i + n - 1][2]
                phrase = lowered[start:end]
                found.setdefault(phrase, (start, term))
                break
    for pattern in rule.patterns:
        match = pattern.search(lowered)
        if match:
            found.setdefault(match.group(0).strip(), (match.start(), ""))
    ordered = sorted(found.items(), key=lambda kv: kv[1][0])
    # A shorter hit inside a longer one ("saldo" in "saldo rekening") says nothing new.
    phrases = [p for p, _ in ordered]
    kept = [(pos, p) for p, (pos, _term) in ordered if not any(p != q and p in q for q in phrases)]
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
    lowered = split_hashtags(text).lower()
    hits: list[tuple[int, Finding]] = []
    seen: set[tuple[str, str]] = set()
    configs: list[CheckerConfig] = [content.checker[lang] for lang in LOCALES]
    for config in configs:
        for rule in config.rules:
            if rule.official_only and not official:
                continue
            shown = _localised(content, locale, rule.id, rule)
            for position, phrase in _matches(rule, text, lowered):
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
                    safer=_safer(shown, phrase, [shown, rule]),
                )
                hits.append((position, finding))
    hits.sort(key=lambda h: h[0])
    reminder = None
    if official:
        lang = locale if locale in content.checker else LOCALES[0]
        reminder = content.checker[lang].official_reminder or None
    return CheckResult(tuple(f for _, f in hits), reminder)
