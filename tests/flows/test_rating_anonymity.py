"""Anonymity as a property: nothing a ratee is shown determines the score of a group of fewer than
3 raters (README "Anonymity", ../shared/DOMAIN.md).

Random circles (superior 0-1, peers 0-6, subordinates 0-6) with random integer scores 1-5 per
rater and criterion are stored as the rating service stores them; the real SQL computes the
standings; the ratee's screen is rendered by the real handler code (and, in the end-to-end tests,
sent through the chat) together with their chart points, their row of the HR export and the award
lines. Every number in that text is parsed back; then a brute force goes over every integer
assignment of the raters consistent with every shown number, rounded as it is displayed, and the
test fails if a group of fewer than 3 raters is left with exactly one possible value.

The brute force goes over each group's sum of criterion scores rather than over each rater: every
shown figure depends on a group's raters only through that sum, and the sums n raters can reach
are exactly C*n .. 5*C*n, so the two enumerations admit the same shown figures. Across quarters the
unit is the "class": raters whose rating is repeated unchanged are the same unknown in both.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from babel.numbers import format_decimal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from bot.app import App
from bot.i18n import translator
from bot.services import periods, standings
from bot.services.periods import QuarterRef
from bot.services.rating_scheme import RELATIONS, Scheme, load_scheme, scheme_from
from handlers.standing import render_standing
from storage.models import Employee, Rating, RatingPeriod, RatingScheme
from tests.fakes.chat import Chat
from tests.helpers.rating_helpers import FAJAR_HR, RINA, employee_ids, linked

T0 = datetime(2025, 2, 1, 8, 0, tzinfo=UTC)
LABELS = {"Atasan": "superior", "Rekan sejawat": "peer", "Bawahan": "subordinate"}
SMALL = 3  # breakdown_min_raters of the shipped scheme

# --- Reading what the ratee is shown ---------------------------------------------------------


@dataclass
class Shown:
    """The numbers one quarter's screen shows: the score and group means as displayed."""

    score: str | None = None
    groups: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def parse(text: str) -> Shown:
    """Every decimal the Indonesian standing text carries, and nothing left over."""
    shown = Shown()
    if m := re.search(r"Nilai: (\d+,\d\d)\b", text):
        shown.score = m.group(1)
    for label, value, count in re.findall(r"• ([A-Za-z ]+): (\d+,\d\d) \((\d+) penilai\)", text):
        shown.groups[LABELS[label]] = value
        shown.counts[LABELS[label]] = int(count)
    parsed = (shown.score is not None) + len(shown.groups)
    assert len(re.findall(r"\d+,\d+", text)) == parsed, text  # no other figure slipped in
    return shown


def as_text(value: object) -> str | None:
    return None if value in (None, "") else format_decimal(value, format="0.00", locale="id")  # type: ignore[arg-type]


# --- The brute force -------------------------------------------------------------------------


@dataclass(frozen=True)
class Cls:
    """Raters who sit in the same group of each quarter (None: not rated in that quarter)."""

    where: tuple[str | None, ...]
    n: int
    truth: int  # their true sum of criterion scores


def displayed(values: np.ndarray, text: str) -> np.ndarray:
    """Which values display as `text` (Babel's two decimals of the score rounded to 6 places)."""
    target = float(text.replace(",", "."))
    near = np.abs(values - target) <= 0.0051
    out = np.zeros(values.shape, dtype=bool)
    for i in np.flatnonzero(near):
        out[i] = format_decimal(round(float(values[i]), 6), format="0.00", locale="id") == text
    return out


def consistent(
    classes: list[Cls], shown: list[Shown], scheme: Scheme, protect: dict[str, list[int]]
) -> dict[str, set[int]]:
    """For each protected set of classes: every sum it can have under an assignment of all the
    classes that displays every shown number as shown."""
    c, lo, hi = len(scheme.criteria), scheme.score_min, scheme.score_max
    axes = [np.arange(c * lo * k.n, c * hi * k.n + 1, dtype=np.int64) for k in classes]
    size = int(np.prod([len(a) for a in axes])) if axes else 1
    assert size <= 4_000_000, size  # keep the generators small enough to enumerate
    grids = [g.ravel() for g in np.meshgrid(*axes, indexing="ij")] if axes else []
    ok = np.ones(size, dtype=bool)
    truth = np.ones(size, dtype=bool)
    for g, k in zip(grids, classes, strict=True):
        truth &= g == k.truth
    for i, view in enumerate(shown):
        sums: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        for g, k in zip(grids, classes, strict=True):
            r = k.where[i]
            if r is not None:
                sums[r] = sums.get(r, 0) + g
                counts[r] = counts.get(r, 0) + k.n
        means = {r: sums[r] / (c * counts[r]) for r in sums}
        for r, text in view.groups.items():
            assert view.counts[r] == counts[r]
            ok &= displayed(means[r], text)
        if view.score is not None:
            w = {r: scheme.weights[r] for r in means if scheme.weights[r] > 0}
            total = sum(w[r] * means[r] for r in w) / sum(w.values())
            ok &= displayed(np.broadcast_to(total, (size,)).astype(float), view.score)
    assert ok[truth].all(), "the true ratings must be consistent with what is shown"
    out = {}
    for name, members in protect.items():
        value = sum(grids[m] for m in members)
        out[name] = set(np.unique(value[ok]).tolist())  # type: ignore[index]
    return out


def assert_protected(classes: list[Cls], shown: list[Shown], scheme: Scheme) -> None:
    """Fail if any relation group of fewer than 3 raters of any quarter -- or, comparing two
    quarters, any set of fewer than 3 ratings one quarter has and the other not -- has exactly
    one consistent value -- unless one quarter's own figures settle it already (a group of 3
    all giving 1 settles each of them; comparing quarters adds nothing to that)."""
    protect: dict[str, list[int]] = {}
    for i in range(len(shown)):
        for r in RELATIONS:
            members = [j for j, k in enumerate(classes) if k.where[i] == r]
            if 0 < sum(classes[j].n for j in members) < SMALL:
                protect[f"quarter {i + 1} {r}"] = members
    if len(shown) > 1:
        for j, k in enumerate(classes):
            if k.n < SMALL and sum(w is not None for w in k.where) == 1:
                protect[f"ratings in one quarter only: {k}"] = [j]
    now = consistent(classes, shown, scheme, protect)
    alone = []
    if len(shown) > 1:
        for i in range(len(shown)):
            only = [v if j == i else Shown() for j, v in enumerate(shown)]
            alone.append(consistent(classes, only, scheme, protect))
    for name, values in now.items():
        settled = any(len(one[name]) == 1 for one in alone)
        assert len(values) > 1 or settled, (name, values, shown)


# --- Storing ratings and reading the screens -------------------------------------------------

Circle = dict[str, list[list[int]]]  # relation -> one list of criterion scores per rater


def circles(max_peers: int = 6, max_subordinates: int = 6, criteria: int = 4) -> st.SearchStrategy:
    rater = st.lists(st.integers(1, 5), min_size=criteria, max_size=criteria)
    return st.fixed_dictionaries(
        {
            "superior": st.lists(rater, max_size=1),
            "peer": st.lists(rater, max_size=max_peers),
            "subordinate": st.lists(rater, max_size=max_subordinates),
        }
    )


async def _published(app: App, ref: QuarterRef) -> int:
    async with app.sessions() as session, session.begin():
        agency_id = (await session.scalars(select(Employee.agency_id))).first()
        from storage.models import Agency

        agency = await session.get(Agency, agency_id)
        assert agency is not None
        scheme = await load_scheme(session, agency.id)
        period = await periods.open_quarter(
            session, agency, ref, scheme, "test", closes_at=T0 + timedelta(days=3650)
        )
        await periods.close_period(session, period, scheme, "test")
        await periods.publish_period(session, period, scheme, "test")
        return period.id


async def _store(
    app: App, period_id: int, ratee: int, raters: dict[str, list[int]], circle: Circle
) -> None:
    """Replace the ratee's ratings of the quarter (as save_rating stores them) and recompute;
    an empty slot is a rater who did not rate (again)."""
    async with app.sessions() as session, session.begin():
        scheme = await load_scheme(session, 1)
        await session.execute(delete(Rating).where(Rating.period_id == period_id))
        for relation, given in circle.items():
            for rater, values in zip(raters[relation], given, strict=False):
                if not values:
                    continue
                scores = dict(zip(scheme.criteria, values, strict=True))
                session.add(
                    Rating(
                        period_id=period_id,
                        rater_id=rater,
                        ratee_id=ratee,
                        relation=relation,
                        scores=scores,
                        score=sum(values) / len(values),
                        created_at=T0,
                        updated_at=T0,
                    )
                )
        await session.flush()
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await standings.compute_standings(session, period, scheme)


async def _rater_pool(app: App, ratee: int) -> dict[str, list[int]]:
    """Distinct employees to stand in as raters (the SQL groups by the stored relation)."""
    async with app.sessions() as session:
        ids = [i for i in await session.scalars(select(Employee.id).order_by(Employee.id))]
    pool = [i for i in ids if i != ratee]
    return {"superior": pool[:1], "peer": pool[1:15], "subordinate": pool[15:29]}


async def screen(app: App, ratee: int, period_id: int) -> tuple[str, Shown]:
    """Everything the ratee can see of a quarter: their screen, rendered by the handler's own
    code, and the other places their figures appear to them as an HR officer (chart point, their
    row of the HR export); checked to agree, returned as one set of shown numbers."""
    async with app.sessions() as session:
        scheme = await load_scheme(session, 1)
        employee = await session.get(Employee, ratee)
        period = await session.get(RatingPeriod, period_id)
        assert employee is not None and period is not None
        found = await standings.my_standing(session, employee, period)
        shown = await standings.disclose_person(session, scheme, ratee, [period])
        text = render_standing(translator("id"), period, found, shown.get(period.id), scheme)
        records = standings.export_records(await standings.ranking(session, period, scheme))
        points = dict(await standings.history(session, employee, scheme))
    seen = parse(text)
    row = next((r for r in records if r["nip"] == employee.nip), None)
    if row is None:
        assert seen.score is None and not seen.groups
        return text, seen
    exported = Shown(
        as_text(row["score"]),
        {r: as_text(row[f"{r}_mean"]) for r in RELATIONS if row[f"{r}_mean"] != ""},  # type: ignore[misc]
    )
    if found.standing is not None and found.standing.eligible:
        assert (exported.score, exported.groups) == (seen.score, seen.groups), (row, text)
    else:  # the screen shows counts only; the export may show groups big enough on their own
        assert exported.score is None and seen.score is None and not seen.groups
        seen = exported
    seen.counts = {r: int(getattr(found.standing, f"{r}_count")) for r in seen.groups}
    assert as_text(points.get(periods.label(period))) == (
        seen.score if found.standing is not None and found.standing.eligible else None
    )
    return text, seen


def one_quarter_classes(circle: Circle, criteria: int) -> list[Cls]:
    return [
        Cls((r,), len(circle[r]), sum(sum(v) for v in circle[r])) for r in RELATIONS if circle[r]
    ]


# --- The properties --------------------------------------------------------------------------

SCHEMES = [
    None,
    {"weights": {"superior": 0.5, "peer": 0.25, "subordinate": 0.25}},
    {"weights": {"superior": 0.6, "peer": 0.0, "subordinate": 0.4}},
    {"rules": {"min_raters": 1}},
]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(circle=circles(), variant=st.sampled_from(range(len(SCHEMES))))
async def test_no_small_group_is_determined_by_what_the_ratee_sees(
    demo_app, circle: Circle, variant: int
) -> None:
    ids = await employee_ids(demo_app)
    ratee = ids[RINA]
    async with demo_app.sessions() as session, session.begin():
        await session.execute(delete(RatingScheme))
        if SCHEMES[variant] is not None:
            session.add(RatingScheme(agency_id=1, config=SCHEMES[variant]))
        period_id = await session.scalar(select(RatingPeriod.id))
    if period_id is None:
        period_id = await _published(demo_app, QuarterRef(2025, 1))
    await _store(demo_app, period_id, ratee, await _rater_pool(demo_app, ratee), circle)
    _text, shown = await screen(demo_app, ratee, period_id)
    scheme = scheme_from(SCHEMES[variant])
    assert_protected(one_quarter_classes(circle, 4), [shown], scheme)


def _changed(q1: Circle, data: st.DataObject) -> tuple[Circle, list[tuple[str, int]]]:
    """Quarter 2: quarter 1's ratings repeated unchanged, with 1-2 new raters and maybe one of
    quarter 1's raters gone or changed; returns the circle and which (relation, index) repeat."""
    q2: Circle = {r: [list(v) for v in q1[r]] for r in RELATIONS}
    repeated = [(r, i) for r in RELATIONS for i in range(len(q1[r]))]
    if len(repeated) > 0 and data.draw(st.booleans(), label="drop or change one"):
        r, i = data.draw(st.sampled_from(repeated), label="which")
        repeated.remove((r, i))
        if data.draw(st.booleans(), label="changed rather than gone"):
            new = data.draw(st.integers(1, 5).filter(lambda v: [v] != q1[r][i]), label="to")
            q2[r][i] = [new]
        else:
            q2[r][i] = []  # gone
    for _ in range(data.draw(st.integers(1, 2), label="new raters")):
        options = [r for r in RELATIONS if r != "superior" or not q2["superior"]]
        r = data.draw(st.sampled_from(options), label="new in")
        q2[r].append(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=1)))
    return q2, repeated


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q1=circles(max_peers=3, max_subordinates=3, criteria=1), data=st.data())
async def test_comparing_two_published_quarters_determines_no_small_group(
    demo_app, q1: Circle, data: st.DataObject
) -> None:
    """Quarter 2 repeats quarter 1's ratings, plus a new rating or two ("only one new rating was
    added"): whoever assumes the repeated ones are the same still solves no small group, in
    either quarter, nor the ratings one quarter has and the other not. One criterion, so that
    the joint enumeration stays small; the rules do not depend on the number of criteria."""
    config = {"criteria": ["kerajinan"]}
    q2, repeated = _changed(q1, data)
    ids = await employee_ids(demo_app)
    ratee = ids[RINA]
    async with demo_app.sessions() as session, session.begin():
        if await session.get(RatingScheme, 1) is None:
            session.add(RatingScheme(agency_id=1, config=config))
        found = list(await session.scalars(select(RatingPeriod.id).order_by(RatingPeriod.id)))
    if not found:
        found = [
            await _published(demo_app, QuarterRef(2025, 1)),
            await _published(demo_app, QuarterRef(2025, 2)),
        ]
    pool = await _rater_pool(demo_app, ratee)
    # Ratings of quarter 2 keep their rater; a gone rater is simply not stored.
    second: Circle = {r: [v for v in q2[r]] for r in RELATIONS}
    await _store(demo_app, found[0], ratee, pool, q1)
    await _store(demo_app, found[1], ratee, pool, second)
    shown = [(await screen(demo_app, ratee, p))[1] for p in found]
    classes = []
    for r in RELATIONS:
        for i, v in enumerate(q1[r]):
            if (r, i) in repeated:
                classes.append(Cls((r, r), 1, sum(v)))
            else:
                classes.append(Cls((r, None), 1, sum(v)))
        for i, v in enumerate(second[r]):
            if v and (r, i) not in repeated:
                classes.append(Cls((None, r), 1, sum(v)))
    assert_protected(_merge(classes), shown, scheme_from(config))


def _merge(classes: list[Cls]) -> list[Cls]:
    """Raters in the same place in both quarters are one unknown sum (smaller enumeration)."""
    merged: dict[tuple[str | None, ...], list[int]] = {}
    for k in classes:
        entry = merged.setdefault(k.where, [0, 0])
        entry[0] += k.n
        entry[1] += k.truth
    return [Cls(w, n, t) for w, (n, t) in merged.items()]


# --- End to end, through the chat ------------------------------------------------------------

CASES: list[Circle] = [
    # The leak of the old rule: "4,40 total, subordinates 3,00" left superior and peer 5 and 5.
    {"superior": [[5] * 4], "peer": [[5] * 4], "subordinate": [[3] * 4] * 3},
    # Everyone at the bottom: the total would say what the superior gave.
    {"superior": [[1] * 4], "peer": [[1] * 4] * 3, "subordinate": []},
    # Near the top, with two small groups.
    {"superior": [[5] * 4], "peer": [[5] * 4, [5, 5, 5, 4]], "subordinate": [[5] * 4] * 3},
    # Everyday scores: a superior, two peers, four subordinates.
    {
        "superior": [[4, 3, 4, 4]],
        "peer": [[3, 4, 2, 5], [4, 4, 4, 3]],
        "subordinate": [[5, 4, 4, 4], [3, 3, 4, 2], [4, 4, 5, 5], [2, 3, 3, 4]],
    },
]


async def _rina(chat, demo_app) -> tuple[Chat, int, int]:
    ids = await employee_ids(demo_app)
    period_id = await _published(demo_app, QuarterRef(2025, 1))
    return await linked(chat, RINA), ids[RINA], period_id


async def test_through_the_chat_the_old_leak_and_the_extremes(chat, demo_app) -> None:
    rina, ratee, period_id = await _rina(chat, demo_app)
    pool = await _rater_pool(demo_app, ratee)
    texts = []
    for circle in CASES:
        await _store(demo_app, period_id, ratee, pool, circle)
        await rina.send("/posisi")
        text = rina.replies[0].text
        assert_protected(one_quarter_classes(circle, 4), [parse(text)], scheme_from())
        texts.append(text)
    assert "Nilai: 4,40" in texts[0] and "Bawahan:" not in texts[0]
    assert "Nilai: tidak ditampilkan" in texts[1] and "Rekan sejawat: 1,00 (3 penilai)" in texts[1]
    assert "Atasan:" not in "".join(texts)
    assert all("dengan mengurangkan angka lain" in t for t in texts)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(circle=circles(max_peers=4, max_subordinates=4))
async def test_through_the_chat_random_circles(chat, demo_app, circle: Circle) -> None:
    key = id(demo_app)
    if key not in _CHATS:
        _CHATS.clear()
        _CHATS[key] = await _rina(chat, demo_app)
    rina, ratee, period_id = _CHATS[key]
    await _store(demo_app, period_id, ratee, await _rater_pool(demo_app, ratee), circle)
    await rina.send("/posisi")
    shown = parse(rina.replies[0].text)
    assert_protected(one_quarter_classes(circle, 4), [shown], scheme_from())


_CHATS: dict[int, tuple[Chat, int, int]] = {}


async def test_through_the_chat_one_new_rating_between_quarters(chat, demo_app) -> None:
    """Quarter 2 = quarter 1 unchanged plus a new superior: the difference of the two totals
    would be the superior's rating. Both quarters are read from the chat, as the ratee would."""
    ids = await employee_ids(demo_app)
    ratee = ids[RINA]
    q1: Circle = {
        "superior": [],
        "peer": [[4] * 4, [5, 4, 4, 4], [3, 4, 4, 4]],
        "subordinate": [[4] * 4, [5] * 4, [3, 3, 4, 4]],
    }
    q2: Circle = {**q1, "superior": [[2, 3, 2, 2]]}
    first = await _published(demo_app, QuarterRef(2025, 1))
    second = await _published(demo_app, QuarterRef(2025, 2))
    pool = await _rater_pool(demo_app, ratee)
    await _store(demo_app, first, ratee, pool, q1)
    await _store(demo_app, second, ratee, pool, q2)
    rina = await linked(chat, RINA)
    await rina.press("Posisi saya")
    later = rina.replies[0].text
    assert "triwulan 2025-Q2" in later
    await rina.press("2025-Q1")
    earlier = rina.replies[0].text
    assert "Nilai: 4,08" in earlier and "Rekan sejawat: 4,00 (3 penilai)" in earlier
    classes = [
        Cls(("peer", "peer"), 3, sum(sum(v) for v in q1["peer"])),
        Cls(("subordinate", "subordinate"), 3, sum(sum(v) for v in q1["subordinate"])),
        Cls((None, "superior"), 1, 9),
    ]
    assert_protected(classes, [parse(earlier), parse(later)], scheme_from())
    assert "Nilai: tidak ditampilkan" in later  # the only thing that changed is the superior


async def test_an_hr_officer_rated_sees_no_more_in_hr_views_than_on_his_screen(
    chat, demo_app
) -> None:
    """Fajar (HR) is rated: superior 5, one peer 5, three subordinates 3 (the old leak). His
    ranking line, the coaching list, the XLSX export and the winners show him only his screen's
    figures."""
    from openpyxl import load_workbook

    ids = await employee_ids(demo_app)
    ratee = ids[FAJAR_HR]
    period_id = await _published(demo_app, QuarterRef(2025, 1))
    pool = await _rater_pool(demo_app, ratee)
    circle = CASES[0]
    await _store(demo_app, period_id, ratee, pool, circle)
    async with demo_app.sessions() as session, session.begin():
        period = await session.get(RatingPeriod, period_id)
        assert period is not None
        await standings.record_awards(session, period, scheme_from())
    fajar = await linked(chat, FAJAR_HR)
    await fajar.send("/posisi")
    mine = parse(fajar.replies[0].text)
    assert mine.score == "4,40" and not mine.groups
    await fajar.send("/menu")
    await fajar.press("Meja HR")
    await fajar.press("Peringkat")
    await fajar.press("2025-Q1")
    assert "1. Fajar Santoso, BKPSDM: 4,40 (5 penilai)" in fajar.text
    await fajar.press("Pemenang")
    assert "Fajar Santoso: nilai 4,40, 5 penilai" in fajar.text
    await fajar.press("Butuh pembinaan")
    # The quarter's only ranked person (its winner) is never on the coaching list (issue point 7).
    assert "Fajar Santoso" not in fajar.text and "paling sedikit" in fajar.text
    await fajar.press("Unduh XLSX")
    attachment = fajar.replies[0].attachment
    assert attachment is not None
    sheet = load_workbook(io.BytesIO(attachment.content)).active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    head, row = rows[0], next(r for r in rows if r[2] == "198412052009031034")
    # The sheet speaks the reader's language (issue point 9): map its headers back to columns.
    from bot.i18n import translator

    names = {translator("id")(f"export.column.{c}"): c for c in standings.EXPORT_COLUMNS}
    record = {names[str(h)]: v for h, v in zip(head, row, strict=True)}
    assert record["score"] == 4.4 and record["withheld"] == "Ya"
    assert all(record[f"{r}_mean"] in (None, "") for r in RELATIONS)  # was subordinate 3.0
    exported = Shown(as_text(record["score"]))
    assert_protected(one_quarter_classes(circle, 4), [mine], scheme_from())
    assert_protected(one_quarter_classes(circle, 4), [exported], scheme_from())


async def test_quarters_far_apart_cannot_be_subtracted(demo_app: App) -> None:
    """A tester's case: the same three subordinates a year and a half apart, plus one new one;
    4 x 3,25 - 3 x 4,00 would give the new rater's whole rating. Every earlier quarter counts."""
    ids = await employee_ids(demo_app)
    ratee = ids[RINA]
    pool = await _rater_pool(demo_app, ratee)
    refs = [QuarterRef(2024, q) for q in (1, 2, 3, 4)] + [QuarterRef(2025, 1), QuarterRef(2025, 2)]
    pids = [await _published(demo_app, ref) for ref in refs]
    same = [[5, 5, 5, 5], [4, 4, 4, 4], [3, 3, 3, 3]]
    twos = [[2, 2, 2, 2]] * 3
    circles = [same, twos, twos, twos, twos, [*same, [1, 1, 1, 1]]]
    for pid, subordinates in zip(pids, circles, strict=True):
        await _store(
            demo_app, pid, ratee, pool, {"superior": [], "peer": [], "subordinate": subordinates}
        )
    first, _ = await screen(demo_app, ratee, pids[0])
    last, _ = await screen(demo_app, ratee, pids[-1])
    assert not ("4,00" in first and "3,25" in last), (first, last)
    async with demo_app.sessions() as session:
        scheme = await load_scheme(session, 1)
        employee = await session.get(Employee, ratee)
        assert employee is not None
        points = dict(await standings.history(session, employee, scheme))
    assert points.get("2024-Q1") is None or points.get("2025-Q2") is None, points
