"""Catalogs: every message id the code uses exists in both languages, with the same placeholders."""

from __future__ import annotations

import ast
import re
import string
import tomllib
from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.config import ROOT
from bot.i18n import LOCALES, LOCALES_DIR, catalog_keys, resolve_locale, translator
from bot.messages import Channel
from bot.services import data_requests, four_in_one
from bot.views import personal_data
from handlers.routers import ROUTERS

SOURCES = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])
TEMPLATES = sorted((ROOT / "bot" / "hr_web" / "templates").rglob("*.html"))
# t("web.x") / t('web.x', name=...) in a Jinja template, up to the call's closing parenthesis.
TEMPLATE_CALL = re.compile(r"""\bt\(\s*(["'])([a-z][\w.]*)\1([^()]*)\)""")

# Calls whose first argument is a message id: t("…"), ctx.t("…"), t.plural("…"),
# translator(x)("…") and translator(x).__call__("…").
TRANSLATE_NAMES = {"t"}
TRANSLATE_ATTRS = {"t", "plural", "__call__"}
# Constructors that carry a message id, and at which position.
ID_CARRIERS = {"CliError": 0, "StartupError": 0, "RosterFileError": 0, "RowError": 2}


@cache
def texts(locale: str) -> dict[str, str]:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str)}  # type: ignore[misc]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def menu_sections() -> list[str]:
    return sorted({e.section for r in ROUTERS for e in r.menu if e.section})


def dynamic_families() -> dict[str, list[str]]:
    """Ids built from configuration, with every member the shipped configuration can produce.
    The rating criteria, relations and score range come from the scheme file; the integrity
    flag and award kinds are the ones the standings service records."""
    with (ROOT / "bot" / "services" / "rating_scheme.toml").open("rb") as fh:
        scheme = tomllib.load(fh)
    scores = [str(n) for n in range(scheme["score_min"], scheme["score_max"] + 1)]
    return {
        "rating.criterion.{}": scheme["criteria"],
        "rating.criterion.{}.hint": scheme["criteria"],
        "rating.relation.{}": list(scheme["weights"]),
        "standing.relation.{}": list(scheme["weights"]),
        "period.state.{}": ["open", "closed", "published"],
        "rating.score.{}": scores,
        "rating.flag.{}": ["mutual", "ring", "same_score", "burst"],
        "award.{}": ["quarter", "shortlist", "year"],
        "menu.section.{}": menu_sections(),
        "menu.section.{}.title": menu_sections(),
        "menu.section.{}.back": menu_sections(),
        "channel.{}": [c.value for c in Channel],
        "four_in_one.doc.{}": list(four_in_one.DOCUMENTS),
        "four_in_one.doc_short.{}": list(four_in_one.DOCUMENTS),
        "four_in_one.status.{}": list(four_in_one.STATUSES),
        "four_in_one.relation.{}": list(four_in_one.RELATIONS),
        "four_in_one.stage.{}": [
            "open",
            "ready",
            "closed",
            "merged",
            "cancelled",
            "duplicate",
            "rejected",
        ],
        "four_in_one.part.{}": ["morning", "midday", "afternoon", "evening"],
        "four_in_one.days_ago.{}": ["0", "1"],
        "broadcast.progress_{}": ["done", "cancelled"],
        "broadcast.aud_{}": ["everyone", "notrated", "hr", "officer"],
        "four_in_one.edit.{}": ["who", "date", "contact", "phone"],
        "privacy.field.{}": list(personal_data.FIELDS),
        "privacy.kind_{}": list(data_requests.KINDS),
        "privacy.ask_{}_what": list(data_requests.KINDS),
    }


def _string_tuples(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level NAME = ("a", "b", …) constants, plus LOCALES."""
    known = {"LOCALES": list(LOCALES)}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple | ast.List):
            values = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            if values and all(isinstance(v, str) for v in values):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        known[target.id] = values  # type: ignore[assignment]
    return known


def _loop_values(tree: ast.Module) -> dict[str, list[str]]:
    """Loop variables bound by `for x in NAME` (statement or comprehension) over such constants."""
    known = _string_tuples(tree)
    bound: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.comprehension):
            target, source = node.target, node.iter
            if isinstance(target, ast.Name) and isinstance(source, ast.Name):
                if source.id in known:
                    bound[target.id] = known[source.id]
    return bound


def _strings(node: ast.AST, loops: dict[str, list[str]] | None = None) -> list[str]:
    # loops is None: a mere literal seen in passing, where an f-string is not an error.
    """The message ids an argument can evaluate to: a literal, either branch of `a if c else b`,
    or an f-string whose one hole is a loop variable over a constant tuple (expanded)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, loops) + _strings(node.orelse, loops)
    if isinstance(node, ast.JoinedStr):
        holes = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if len(holes) == 1 and isinstance(holes[0].value, ast.Name):
            if loops is None:
                return []
            values = loops.get(holes[0].value.id)
            head = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
            if values is None:
                values = next((m for f, m in dynamic_families().items() if head == f), None)
            if values is None:
                raise AssertionError(f"cannot tell which ids f-string {ast.unparse(node)} makes")
            head = "".join(
                str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values
            )
            return [head.replace("{}", value) for value in values]
    return []


def _is_translate_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in TRANSLATE_NAMES
    if isinstance(func, ast.Attribute):
        return func.attr in TRANSLATE_ATTRS
    if isinstance(func, ast.Call):  # translator(locale)("…")
        inner = func.func
        return isinstance(inner, ast.Name) and inner.id == "translator"
    return False


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class Use:
    def __init__(self, key: str, where: str, params: set[str] | None) -> None:
        self.key, self.where, self.params = key, where, params  # params None: not knowable


@cache
def uses() -> tuple[Use, ...]:
    found: list[Use] = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(ROOT)
        loops = _loop_values(tree)
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                callee = _callee(node)
                if _is_translate_call(node) and node.args:
                    params = None
                    if not any(k.arg is None for k in node.keywords):
                        params = {k.arg for k in node.keywords if k.arg}
                        if callee == "plural":
                            params.add("count")
                    found += [Use(key, where, params) for key in _strings(node.args[0], loops)]
                elif callee in ID_CARRIERS:
                    position = ID_CARRIERS[callee]
                    if len(node.args) > position:
                        found += [Use(k, where, None) for k in _strings(node.args[position], loops)]
                elif callee == "menu_entry" and len(node.args) > 1:
                    found += [Use(k, where, set()) for k in _strings(node.args[1], loops)]
            # Message ids kept in tables (RESULT_KEYS = {…: "link.done"}) and returned as
            # reasons (nip_problem): string literals shaped like an id in a known namespace.
            if isinstance(node, ast.Dict):
                for value in node.values:
                    found += [Use(k, where, None) for k in _strings(value) if _id_like(k)]
            if isinstance(node, ast.Return) and node.value is not None:
                found += [Use(k, where, None) for k in _strings(node.value) if _id_like(k)]
    for path in TEMPLATES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for call in TEMPLATE_CALL.finditer(line):
                params = set(re.findall(r"(\w+)\s*=", call.group(3)))
                found.append(Use(call.group(2), f"{path.relative_to(ROOT)}:{number}", params))
    return tuple(found)


def _id_like(value: str) -> bool:
    namespaces = {key.split(".", 1)[0] for key in texts("id")}
    head, dot, rest = value.partition(".")
    return bool(dot and rest) and head in namespaces and " " not in value


def test_the_scan_finds_the_ids_we_know_about() -> None:
    keys = {u.key for u in uses()}
    # One of each way of naming a message: t(), ctx.t(), a conditional, an f-string, a menu
    # label, a reason returned by nip_problem, a RowError, a RosterFileError, a CliError, a
    # StartupError, a table of results.
    for expected in [
        "cli.roster.summary",
        "home.welcome",
        "cli.role.granted",
        "cli.role.revoked",
        "language.en",
        "menu.accounts",
        "roster.error.nip_serial",
        "roster.error.cycle",
        "roster.file.columns",
        "cli.not_found_nip",
        "cli.bad_redis",
        "link.taken",
        "web.login.title",  # in a template
        "web.overview.hello",
    ]:
        assert expected in keys, expected
    assert len(keys) > 60


def test_every_id_used_in_code_exists_in_both_catalogs() -> None:
    missing = [
        f"{u.where}: {u.key} (not in {locale})"
        for u in uses()
        for locale in LOCALES
        if u.key not in catalog_keys(locale)
    ]
    assert not missing, "\n".join(missing)


def test_both_catalogs_have_the_same_ids() -> None:
    assert catalog_keys("id") == catalog_keys("en")
    assert set(texts("id")) == set(texts("en"))


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_is_left_untranslated(locale: str) -> None:
    empty = [key for key, text in texts(locale).items() if not text.strip()]
    assert not empty


def test_placeholders_match_between_languages() -> None:
    english = texts("en")
    wrong = {
        key: (sorted(placeholders(text)), sorted(placeholders(english.get(key, ""))))
        for key, text in texts("id").items()
        if placeholders(text) != placeholders(english.get(key, ""))
    }
    assert not wrong


def test_every_call_passes_the_placeholders_its_message_needs() -> None:
    """t("x", a=1) where the text also wants {b} fails at run time (or shows "{b}" raw)."""
    wrong = []
    for use in uses():
        if use.params is None or use.key not in texts("id"):
            continue
        needed = placeholders(texts("id")[use.key])
        if needed - use.params:
            wrong.append(f"{use.where}: {use.key} needs {sorted(needed - use.params)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_formats_with_its_placeholders(locale: str) -> None:
    t = translator(locale)
    for key, text in texts(locale).items():
        names = placeholders(text)
        params = {name: f"<{name}>" for name in names}
        params.setdefault("unused", "x")  # always take the formatting path
        rendered = t(key, **params)
        assert all(f"<{name}>" in rendered for name in names), (key, rendered)
        assert "{" not in rendered.replace("{{", ""), (key, rendered)


def test_translator_falls_back_to_indonesian_then_to_the_id() -> None:
    assert translator("en")("menu.title") != translator("id")("menu.title")
    assert translator("fr").locale == "id"
    assert translator("fr")("menu.title") == translator("id")("menu.title")
    assert translator("en")("no.such.message") == "no.such.message"


@pytest.mark.parametrize(
    ("chosen", "hint", "default", "expected"),
    [
        ("en", "id", "id", "en"),  # the user's choice beats the platform
        ("id", "en-US", "en", "id"),
        (None, "en-US", "id", "en"),  # then the platform's hint
        (None, "en_GB", "id", "en"),
        (None, "EN", "id", "en"),
        (None, "in", "en", "id"),  # the old ISO code for Indonesian
        (None, "id-ID", "en", "id"),
        (None, "fr", "id", "id"),  # then the default
        (None, "fr", "en", "en"),
        (None, None, "en", "en"),
        (None, "", "en", "en"),
        ("xx", "en", "id", "en"),  # a choice that is not a locale is ignored
        (None, None, "de", "id"),  # a default that is not a locale falls back to Indonesian
    ],
)
def test_resolve_locale(chosen: str | None, hint: str | None, default: str, expected: str) -> None:
    assert resolve_locale(chosen, hint, default) == expected


def test_sources_are_scanned() -> None:
    names = {Path(p).name for p in SOURCES}
    assert {"command.py", "roster.py", "people.py", "home.py", "admin.py", "linking.py"} <= names
