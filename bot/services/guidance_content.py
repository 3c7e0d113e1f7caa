"""The guidance content as files give it: topics, search vocabulary and checker rules, read and
checked (no database, no index). The live library and the acknowledgements are in guidance.py,
the search over this content in guidance_search.py.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.i18n import LOCALES, LOCALES_DIR, Translator, translator

# A phone screen shows roughly 900 characters of chat text; Telegram and WhatsApp cut at 4096.
MAX_PAGE_CHARS = 900
MAX_LABEL_CHARS = 24
TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CATEGORIES = ("flexing", "partisan", "sara", "hoax", "official")


class ContentError(Exception):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Page:
    heading: str
    text: str


@dataclass(frozen=True)
class Topic:
    id: str
    version: int
    order: int
    title: str
    label: str
    source: str
    pages: tuple[Page, ...]
    dos: tuple[str, ...]
    donts: tuple[str, ...]
    example: str

    def passages(self) -> list[tuple[str, str]]:
        """Retrievable pieces keyed so that the same key names the same piece in every language."""
        out = [(f"p{i}", f"{p.heading}\n{p.text}") for i, p in enumerate(self.pages)]
        out.append(("dos", "\n".join(self.dos)))
        out.append(("donts", "\n".join(self.donts)))
        out.append(("example", self.example))
        return out

    def passage(self, key: str) -> str:
        return dict(self.passages()).get(key, "")

    def page_of(self, key: str) -> int:
        """The page a passage is shown on (pages first, then do's/don'ts, then the example)."""
        if key.startswith("p") and key[1:].isdigit():
            return int(key[1:])
        return len(self.pages) + (1 if key == "example" else 0)


@dataclass(frozen=True)
class Rule:
    id: str
    label: str
    topic: str
    name: str
    rule: str
    safer: str
    terms: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    official_only: bool = False
    safer_for: dict[str, str] = field(default_factory=dict)
    # Words that touch the rule only beside a context word ("menang" beside "paslon", "bintang
    # lima" beside "hotel"), the context words, signs that count beside a context word (the
    # finger poses ✌️ ☝️ 🤟 beside a candidate or party), and words that count inside a hashtag
    # ("menang" in #PKBMenang, "ganti" in #2024GantiPresiden).
    context_terms: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    hashtag_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckerConfig:
    official_reminder: str
    rules: tuple[Rule, ...]
    # How people write -> how the lists write, word by word: "yg" -> "yang", "lima" -> "5".
    spelling: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchConfig:
    min_score: float
    strong_score: float
    synonyms: tuple[tuple[str, ...], ...]
    stopwords: frozenset[str]
    # How people type -> how the guidance writes: "gak" -> "tidak", "ngelike" -> "like".
    spelling: dict[str, str] = field(default_factory=dict)
    # Words that name what a question asks for: topic -> words ("sanksi" for "hukumannya apa?").
    focus: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # A second topic is shown beside the first when its best passage scores this share of it.
    second_topic_ratio: float = 0.6


@dataclass(frozen=True)
class Content:
    topics: dict[str, dict[str, Topic]]  # lang -> id -> topic
    search: dict[str, SearchConfig]
    checker: dict[str, CheckerConfig]

    def ordered(self, lang: str) -> list[Topic]:
        return sorted(self._topics(lang).values(), key=lambda t: (t.order, t.id))

    def topic(self, lang: str, topic_id: str) -> Topic | None:
        return self._topics(lang).get(topic_id)

    def version(self, topic_id: str) -> int | None:
        topic = self.topic(LOCALES[0], topic_id)
        return topic.version if topic else None

    def versions(self) -> dict[str, int]:
        return {t.id: t.version for t in self.ordered(LOCALES[0])}

    def _topics(self, lang: str) -> dict[str, Topic]:
        return self.topics.get(lang) or self.topics[LOCALES[0]]


# --- loading and validation -------------------------------------------------------------------


def _read(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path.name}: {exc}")
        return None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _topic(data: dict[str, Any], where: str, problems: list[str]) -> Topic | None:
    missing = [k for k in ("id", "version", "title", "label", "source", "example") if k not in data]
    if missing:
        problems.append(f"{where}: missing {', '.join(missing)}")
        return None
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{where}: version must be a whole number from 1")
        return None
    pages = tuple(
        Page(str(p.get("heading", "")), str(p.get("text", "")).strip())
        for p in data.get("pages", [])
        if isinstance(p, dict)
    )
    return Topic(
        id=str(data["id"]),
        version=version,
        order=int(data.get("order", 100)),
        title=str(data["title"]),
        label=str(data["label"]),
        source=str(data["source"]).strip(),
        pages=pages,
        dos=_strings(data.get("dos")),
        donts=_strings(data.get("donts")),
        example=str(data["example"]).strip(),
    )


def _rules(data: dict[str, Any], where: str, problems: list[str]) -> CheckerConfig:
    rules = []
    for i, raw in enumerate(data.get("rules", [])):
        here = f"{where} rule {i + 1}"
        missing = [k for k in ("id", "label", "topic", "name", "rule", "safer") if k not in raw]
        if missing:
            problems.append(f"{here}: missing {', '.join(missing)}")
            continue
        patterns = []
        for source in _strings(raw.get("patterns")):
            try:
                patterns.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:
                problems.append(f"{here}: bad pattern {source!r}: {exc}")
        if raw["label"] not in CATEGORIES:
            problems.append(f"{here}: label must be one of {', '.join(CATEGORIES)}")
        rules.append(
            Rule(
                id=str(raw["id"]),
                label=str(raw["label"]),
                topic=str(raw["topic"]),
                name=str(raw["name"]),
                rule=str(raw["rule"]),
                safer=str(raw["safer"]),
                terms=_strings(raw.get("terms")),
                patterns=tuple(patterns),
                official_only=bool(raw.get("official_only", False)),
                safer_for={str(k).lower(): str(v) for k, v in raw.get("safer_for", {}).items()},
                context_terms=_strings(raw.get("context_terms")),
                context=_strings(raw.get("context")),
                signals=_strings(raw.get("signals")),
                hashtag_terms=tuple(t.lower() for t in _strings(raw.get("hashtag_terms"))),
            )
        )
        if (rules[-1].context_terms or rules[-1].signals) and not rules[-1].context:
            problems.append(f"{here}: context_terms and signals need context words")
    spelling = {
        str(k).lower(): str(v).lower()
        for k, v in (data.get("spelling") or {}).items()
        if isinstance(v, str)
    }
    return CheckerConfig(str(data.get("official_reminder", "")), tuple(rules), spelling)


def load(root: Path = LOCALES_DIR) -> Content:
    """Read and validate every guidance file under root; ContentError lists all problems."""
    problems: list[str] = []
    topics: dict[str, dict[str, Topic]] = {}
    search: dict[str, SearchConfig] = {}
    checker: dict[str, CheckerConfig] = {}
    for lang in LOCALES:
        base = root / lang / "guidance"
        topics[lang] = {}
        for path in sorted((base / "topics").glob("*.toml")):
            data = _read(path, problems)
            topic = _topic(data, f"{lang}/{path.name}", problems) if data is not None else None
            if topic is None:
                continue
            if topic.id != path.stem:
                problems.append(f"{lang}/{path.name}: id {topic.id!r} differs from the file name")
            topics[lang][topic.id] = topic
        data = _read(base / "search.toml", problems) or {}
        search[lang] = SearchConfig(
            min_score=float(data.get("min_score", 0.8)),
            strong_score=float(data.get("strong_score", 5.0)),
            synonyms=tuple(_strings(g) for g in data.get("synonyms", []) if isinstance(g, list)),
            stopwords=frozenset(_strings(data.get("stopwords"))),
            spelling={
                str(k).lower(): str(v).lower()
                for k, v in (data.get("spelling") or {}).items()
                if isinstance(v, str)
            },
            focus={
                str(k): _strings(v)
                for k, v in (data.get("focus") or {}).items()
                if isinstance(v, list)
            },
            second_topic_ratio=float(data.get("second_topic_ratio", 0.6)),
        )
        data = _read(base / "checker.toml", problems) or {}
        checker[lang] = _rules(data, f"{lang}/checker.toml", problems)
    content = Content(topics, search, checker)
    problems += validate(content)
    if problems:
        raise ContentError(problems)
    return content


def validate(content: Content) -> list[str]:
    """Structural checks that a file-by-file read cannot make: languages agree, pages fit."""
    problems: list[str] = []
    base = LOCALES[0]
    ids = set(content.topics[base])
    if not ids:
        problems.append(f"{base}: no topics")
    for lang in LOCALES:
        here = set(content.topics[lang])
        for missing in sorted(ids - here):
            problems.append(f"{lang}: topic {missing!r} missing")
        for extra in sorted(here - ids):
            problems.append(f"{lang}: topic {extra!r} has no {base} version")
        t = translator(lang)
        for topic in content.topics[lang].values():
            where = f"{lang}/{topic.id}"
            if not TOPIC_ID.match(topic.id):
                problems.append(f"{where}: id must be lower-case letters, digits or _")
            if len(topic.label) > MAX_LABEL_CHARS:
                problems.append(f"{where}: label longer than {MAX_LABEL_CHARS} characters")
            if not topic.pages or not topic.dos or not topic.donts:
                problems.append(f"{where}: needs pages, dos and donts")
            if not topic.source.lower().startswith(("sumber", "source")):
                problems.append(f"{where}: source must start with 'Sumber:' / 'Source:'")
            for number, page in enumerate(render_pages(topic, t), 1):
                if len(page) > MAX_PAGE_CHARS:
                    problems.append(
                        f"{where}: page {number} has {len(page)} characters (max {MAX_PAGE_CHARS})"
                    )
            other = content.topics[base].get(topic.id)
            if lang != base and other is not None:
                if topic.version != other.version:
                    problems.append(
                        f"{where}: version {topic.version} but {base} has {other.version}"
                    )
                if [k for k, _ in topic.passages()] != [k for k, _ in other.passages()]:
                    problems.append(f"{where}: pages differ in number from the {base} version")
    for lang in LOCALES:
        for topic_id in content.search[lang].focus:
            if topic_id not in ids:
                problems.append(f"{lang}/search.toml: focus names unknown topic {topic_id!r}")
    rule_ids = {r.id for r in content.checker[base].rules}
    for lang in LOCALES:
        for rule in content.checker[lang].rules:
            if rule.topic not in ids:
                problems.append(f"{lang}/checker.toml: rule {rule.id!r} names unknown topic")
        if {r.id for r in content.checker[lang].rules} != rule_ids:
            problems.append(f"{lang}/checker.toml: rule ids differ from the {base} file")
    return problems


# --- rendering --------------------------------------------------------------------------------


def render_pages(topic: Topic, t: Translator) -> list[str]:
    """The topic as phone-sized pages: its own pages, then do's and don'ts, then the example."""
    bodies = [f"{p.heading}\n\n{p.text}" if p.heading else p.text for p in topic.pages]
    dos = "\n".join(f"✅ {line}" for line in topic.dos)
    donts = "\n".join(f"❌ {line}" for line in topic.donts)
    bodies.append(f"{t('guidance.dos')}\n{dos}\n\n{t('guidance.donts')}\n{donts}")
    bodies.append(f"{t('guidance.example')}\n{topic.example}\n\n{topic.source}")
    total = len(bodies)
    return [
        t("guidance.page_header", title=topic.title, page=n, total=total) + "\n\n" + body
        for n, body in enumerate(bodies, 1)
    ]
