"""The console's periods page: open, close and publish through confirmations, calling the chat's
services (what the page does is what the chat then shows, and the other way round); the
standings with the chat's anonymity, the flags with its recusal, exports, and refusals."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import App
from bot.hr_web import periods as periods_page
from bot.i18n import translator
from bot.services import participation
from bot.services.periods import QuarterRef
from storage.models import Agency, AuditLog, Employee, RatingPeriod
from tests.flows.test_rating_anonymity import CASES, _published, _rater_pool, _store
from tests.flows.test_rating_integrity import _flagged_quarter, _flags_screen
from tests.flows.test_standings import T0, _rate
from tests.helpers.rating_helpers import (
    FAJAR_HR,
    RINA,
    employee_ids,
    get_period,
    linked,
    open_quarter,
)
from tests.helpers.web_helpers import HR_NIP, OFFICER_NIP, console_client, sign_in

RINA_NIP = "198601172009012002"


def text_of(html: str) -> str:
    """The page as a reader sees it: tags out, entities decoded, spaces squeezed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def main_of(html: str) -> str:
    """The text of the page's own content, without the header (which names the officer)."""
    return text_of(html.split("<main", 1)[1].split("</main>", 1)[0])


def row_of(html: str, nip: str) -> str:
    """The text of the table row carrying this NIP."""
    rows = [r for r in html.split("<tr") if nip in r]
    assert len(rows) == 1, nip
    return text_of("<tr" + rows[0])


async def _periods(app: App) -> list[RatingPeriod]:
    async with app.sessions() as session:
        return list(await session.scalars(select(RatingPeriod).order_by(RatingPeriod.id)))


async def _audit(app: App, action: str) -> list[AuditLog]:
    async with app.sessions() as session:
        query = select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)
        return list(await session.scalars(query))


async def test_open_close_publish_on_the_page_is_what_the_chat_then_shows(
    chat, demo_app: App
) -> None:
    ids = await employee_ids(demo_app)
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        listing = await client.get("/hr/periods")
        assert listing.status == 200
        # Asking is not doing: the first post shows what will happen, and changes nothing.
        asked = await client.post("/hr/periods/open", data={"csrf": csrf, "quarter": "2025-Q1"})
        assert asked.status == 200
        assert "Buka triwulan 2025-Q1?" in text_of(await asked.text())
        assert await _periods(demo_app) == []
        opened = await client.post(
            "/hr/periods/open",
            data={"csrf": csrf, "quarter": "2025-Q1", "confirmed": "yes"},
            allow_redirects=False,
        )
        assert opened.status == 303
        [period] = await _periods(demo_app)
        assert opened.headers["Location"] == f"/hr/periods/{period.id}?done=open"
        assert period.state == "open"
        # Rina is rated by four colleagues, enough to be ranked.
        async with demo_app.sessions() as session, session.begin():
            for i, rater in enumerate((1, 3, 4, 6)):
                await _rate(session, period.id, ids[rater], ids[RINA], 4, T0 + timedelta(hours=i))
        detail = text_of(await (await client.get(f"/hr/periods/{period.id}")).text())
        assert "4 penilai dari 50 pegawai aktif" in detail and "4 penilaian" in detail
        assert "Peringkat dihitung saat triwulan ditutup." in detail
        closed = await client.post(
            f"/hr/periods/{period.id}/close",
            data={"csrf": csrf, "confirmed": "yes"},
            allow_redirects=False,
        )
        assert closed.status == 303
        assert (await get_period(demo_app, period.id)).state == "closed"
        # Publish without the confirmation: the page says what the staff will see; nothing moves.
        asked = await client.post(f"/hr/periods/{period.id}/publish", data={"csrf": csrf})
        page = text_of(await asked.text())
        assert asked.status == 200 and "Umumkan triwulan 2025-Q1?" in page
        assert "1 pegawai yang masuk peringkat akan menerima pesan" in page
        assert "tidak bisa dibatalkan" in page
        assert (await get_period(demo_app, period.id)).state == "closed"
        published = await client.post(
            f"/hr/periods/{period.id}/publish",
            data={"csrf": csrf, "confirmed": "yes"},
            allow_redirects=False,
        )
        assert published.status == 303
        shown = await client.get(f"/hr/periods/{period.id}?done=publish")
        html = await shown.text()
    assert (await get_period(demo_app, period.id)).state == "published"
    assert "Hasil triwulan 2025-Q1 diumumkan." in text_of(html)
    assert row_of(html, RINA_NIP).startswith(" 1 1 Rina")
    assert "4,00" in row_of(html, RINA_NIP)
    # The actions are the chat's: the same audit rows, by the officer, marked as from the web.
    for action in ("period.open", "period.close", "period.publish"):
        [row] = await _audit(demo_app, action)
        assert row.actor == f"employee:{ids[FAJAR_HR]}" and row.target == f"period:{period.id}"
        assert row.detail["via"] == "web"
    # Rina asks the chat for her standing: the quarter published on the page.
    rina = await linked(chat, RINA)
    await rina.send("/posisi")
    assert "triwulan 2025-Q1" in rina.text
    assert "Nilai: 4,00" in rina.text and "Peringkat di instansi: 1 dari 1" in rina.text


async def test_a_quarter_opened_in_chat_and_closed_by_cli_is_on_the_page(
    chat, demo_app: App, cli
) -> None:
    fajar = await linked(chat, FAJAR_HR)
    await fajar.send("/menu")
    await fajar.press("Meja HR")
    await fajar.press("Periode penilaian")
    opening = next(label for label in fajar.labels if label.startswith("Buka "))
    label = opening.removeprefix("Buka ")
    await fajar.press(opening)
    await fajar.press("Ya, lanjutkan")
    assert f"Triwulan {label} dibuka" in fajar.text
    said = re.search(r"sampai (.+?)\.", fajar.text)
    assert said, fajar.text
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        page = text_of(await (await client.get("/hr/periods")).text())
        assert f"{label} terbuka" in page and f"Tutup {label}" in page
        assert f"Tutup {said[1]}" in page, (said[1], page)  # the last day, as the chat says it
        # While it is open, the page offers no second quarter to open (as the chat does).
        assert "Ada triwulan yang masih terbuka" in page
        result = await cli("period", "close", label)
        assert result.code == 0, result.err
        page = text_of(await (await client.get("/hr/periods")).text())
        assert f"{label} ditutup" in page and f"Umumkan {label}" in page


async def test_a_forged_token_and_a_desk_officer_change_nothing(demo_app: App) -> None:
    period_id = await open_quarter(demo_app)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        forged = await client.post(
            f"/hr/periods/{period_id}/close", data={"csrf": "forged", "confirmed": "yes"}
        )
        assert forged.status == 403
        assert (await get_period(demo_app, period_id)).state == "open"
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app, OFFICER_NIP)
        for path in ("/hr/periods", f"/hr/periods/{period_id}", "/hr/audit"):
            assert (await client.get(path)).status == 403, path
        refused = await client.post(
            f"/hr/periods/{period_id}/close", data={"csrf": csrf, "confirmed": "yes"}
        )
        assert refused.status == 403
        export = await client.get(f"/hr/periods/{period_id}/standings.csv")
        assert export.status == 403 and "text/csv" not in export.headers["Content-Type"]
    assert (await get_period(demo_app, period_id)).state == "open"


async def test_another_agencys_quarter_is_not_found(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="lain", name="Kabupaten Lain", timezone="Asia/Makassar")
        session.add(other)
        await session.flush()
        theirs = RatingPeriod(
            agency_id=other.id,
            year=2025,
            quarter=1,
            state="closed",
            opens_at=T0,
            closes_at=T0 + timedelta(days=10),
            closed_at=T0 + timedelta(days=10),
        )
        session.add(theirs)
        await session.flush()
        their_id = theirs.id
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        for path in (
            f"/hr/periods/{their_id}",
            f"/hr/periods/{their_id}/flags",
            f"/hr/periods/{their_id}/standings.csv",
            f"/hr/periods/{their_id}/standings.xlsx",
            "/hr/periods/99999999999999999999",
        ):
            answer = await client.get(path)
            assert answer.status == 404, path
            assert "Triwulan itu tidak ditemukan." in await answer.text()
        publish = await client.post(
            f"/hr/periods/{their_id}/publish", data={"csrf": csrf, "confirmed": "yes"}
        )
        assert publish.status == 404
        listing = text_of(await (await client.get("/hr/periods")).text())
    assert "2025-Q1" not in listing
    assert (await get_period(demo_app, their_id)).state == "closed"


async def test_bad_input_gets_the_page_back_with_the_reason(demo_app: App) -> None:
    period_id = await open_quarter(demo_app, QuarterRef(2025, 2))
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        cases = [
            ("/hr/periods/open", {"quarter": "kuartal satu"}, "Tulis triwulan seperti 2025-Q1."),
            ("/hr/periods/open", {"quarter": "1999-Q1"}, "Tulis triwulan seperti 2025-Q1."),
            ("/hr/periods/open", {"quarter": "2025-Q3"}, "Masih ada triwulan lain yang terbuka"),
            ("/hr/periods/open", {"quarter": "2025-Q2"}, "Triwulan itu sudah pernah dibuka."),
            (f"/hr/periods/{period_id}/publish", {}, "Hanya triwulan yang sudah ditutup"),
        ]
        for path, data, message in cases:
            answer = await client.post(path, data={"csrf": csrf, "confirmed": "yes", **data})
            assert answer.status == 400, (path, data)
            assert message in text_of(await answer.text()), (path, data)
        # An export of a quarter still open: refused with the reason, no file.
        export = await client.get(f"/hr/periods/{period_id}/standings.csv")
        assert export.status == 409 and "masih terbuka" in await export.text()
        # A page number that is not one: the first page, 400 and why (tests/web/test_paging.py).
        assert (await client.get("/hr/periods?page=-3")).status == 400
        assert (await client.get(f"/hr/periods/{period_id}?page=x")).status == 400
    assert [p.quarter for p in await _periods(demo_app)] == [2]


async def test_the_table_and_exports_show_no_more_than_the_chat(chat, demo_app: App) -> None:
    """Rina rated by a superior (5), one peer (5) and three subordinates (3): her screen shows
    the score and no group (the subordinates' 3,00 would follow from it). The page's row and
    both exports show exactly that."""
    ids = await employee_ids(demo_app)
    period_id = await _published(demo_app, QuarterRef(2025, 1))
    await _store(demo_app, period_id, ids[RINA], await _rater_pool(demo_app, ids[RINA]), CASES[0])
    rina = await linked(chat, RINA)
    await rina.send("/posisi")
    assert "Nilai: 4,40" in rina.text and "Bawahan:" not in rina.text
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        html = await (await client.get(f"/hr/periods/{period_id}")).text()
        row = row_of(html, RINA_NIP)
        assert "4,40" in row and "3,00" not in row and "5,00" not in row
        assert "nilai tidak ditampilkan agar penilai tidak dapat ditebak" not in text_of(html)
        exported = await client.get(f"/hr/periods/{period_id}/standings.csv")
        assert exported.status == 200
        assert exported.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in exported.headers["Content-Disposition"]
        records = list(csv.DictReader(io.StringIO(await exported.text())))
        sheet = await client.get(f"/hr/periods/{period_id}/standings.xlsx")
        book = load_workbook(io.BytesIO(await sheet.read()))
    [record] = [r for r in records if r["nip"] == RINA_NIP]
    assert record["score"] == "4.4" and record["rank_agency"] == "1"
    assert record["superior_mean"] == record["peer_mean"] == record["subordinate_mean"] == ""
    assert record["withheld"] == "1"
    rows = list(book.active.iter_rows(values_only=True))  # type: ignore[union-attr]
    # The sheet speaks the officer's language, as the chat's does.
    assert rows[0][0] == translator("id")("export.column.rank_agency")
    assert next(r for r in rows if r[2] == RINA_NIP)[5] == 4.4
    exports = await _audit(demo_app, "standings.export")
    assert [(e.detail["format"], e.detail["rows"], e.detail["via"]) for e in exports] == [
        ("csv", 1, "web"),
        ("xlsx", 1, "web"),
    ]
    assert [v.detail["page"] for v in await _audit(demo_app, "standings.view")] == [1]


async def test_flags_are_the_chats_with_the_same_recusal(chat, demo_app: App) -> None:
    period_id = await _flagged_quarter(demo_app)
    fajar = await linked(chat, FAJAR_HR)
    in_chat = await _flags_screen(fajar)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app, HR_NIP)
        answer = await client.get(f"/hr/periods/{period_id}/flags")
        page = main_of(await answer.text())
    assert answer.status == 200
    lines = [line.removeprefix("• ") for line in in_chat.splitlines() if line.startswith("• ")]
    assert len(lines) == 3
    for line in lines:
        assert line in page
    # His own pair, his peer and the colleague who rated him stay hidden, as in chat.
    for name in ("Nia Halim", "Doni Firmansyah", "Fajar Santoso", "Hendra Rahayu"):
        assert name not in page, name
    assert "3 tanda tidak ditampilkan kepada Anda" in page
    assert not re.search(r"\d,\d", page)
    views = await _audit(demo_app, "rating.flags.view")
    assert [v.detail for v in views] == [
        {"shown": 3, "hidden": 3, "unreviewable": 3},
        {"shown": 3, "hidden": 3, "unreviewable": 3, "via": "web"},
    ]


async def test_participation_counts_raters_per_unit(demo_app: App) -> None:
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app)
    now = datetime.now(UTC)
    async with demo_app.sessions() as session, session.begin():
        await _rate(session, period_id, ids[1], ids[RINA], 4, now)
        await _rate(session, period_id, ids[1], ids[3], 4, now)
        await _rate(session, period_id, ids[3], ids[1], 5, now)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        listing = text_of(await (await client.get("/hr/periods")).text())
        detail = text_of(await (await client.get(f"/hr/periods/{period_id}")).text())
    # The list: 3 ratings by 2 raters.
    assert re.search(r"2025-Q1 terbuka .* 3 2 Tutup 2025-Q1", listing), listing
    assert "2 penilai dari 50 pegawai aktif" in detail
    assert "3 penilaian" in detail and "3 pegawai dinilai" in detail


def unit_rows(html: str) -> list[list[int]]:
    """The figures of each row of the per-unit table (staff, rated, were rated, ranked)."""
    table = html.split('<table class="units">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [[int(n) for n in re.findall(r"<td>(\d+)", row)] for row in body.split("<tr>")[1:]]


async def test_a_ranked_person_no_longer_active_counts_in_the_total_not_in_a_unit(
    demo_app: App,
) -> None:
    """Rina is ranked at the close, then dies: the quarter still ranked her (the total says 1),
    but her unit's row counts its staff as they are now, so no column exceeds "active staff"."""
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app)
    async with demo_app.sessions() as session, session.begin():
        for i, rater in enumerate((1, 3, 4, 6)):
            await _rate(session, period_id, ids[rater], ids[RINA], 4, T0 + timedelta(hours=i))
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        closed = await client.post(
            f"/hr/periods/{period_id}/close",
            data={"csrf": csrf, "confirmed": "yes"},
            allow_redirects=False,
        )
        assert closed.status == 303
        async with demo_app.sessions() as session, session.begin():
            rina = await session.get(Employee, ids[RINA])
            assert rina is not None
            rina.status = "deceased"
        html = await (await client.get(f"/hr/periods/{period_id}")).text()
    rows = unit_rows(html)
    assert rows and all(len(r) == 4 for r in rows)
    assert all(ranked <= staff for staff, _raters, _rated, ranked in rows), rows
    assert sum(r[3] for r in rows) == 0
    assert "1 masuk peringkat" in text_of(html)
    assert "Per unit, di antara pegawai aktif saat ini" in text_of(html)
    assert "Pegawai aktif kini" in text_of(html)


async def test_a_score_withheld_by_the_anonymity_rule_is_explained_above_the_table(
    demo_app: App,
) -> None:
    """Everyone gave Rina 1: her total would say what her superior gave, so her row shows "-",
    and the page says why before the table, not only in the chat."""
    ids = await employee_ids(demo_app)
    period_id = await _published(demo_app, QuarterRef(2025, 1))
    await _store(demo_app, period_id, ids[RINA], await _rater_pool(demo_app, ids[RINA]), CASES[1])
    async with console_client(demo_app) as client:
        csrf = await sign_in(client, demo_app)
        html = await (await client.get(f"/hr/periods/{period_id}")).text()
        await client.post("/hr/language", data={"csrf": csrf, "lang": "en"})
        english = await (await client.get(f"/hr/periods/{period_id}")).text()
    row = row_of(html, RINA_NIP)
    assert "Sekretariat Daerah - 4" in row  # unit, the score withheld, 4 raters
    note = translator("id")("web.periods.withheld_note")
    assert note in text_of(html)
    assert html.index('id="withheld-note"') < html.index('<table class="stack standings">')
    assert translator("en")("web.periods.withheld_note") in text_of(english)


async def test_the_unit_table_is_paged_with_the_units_most_behind_first(
    demo_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,000 units' rows made the page 400 KiB: a page of them, most staff yet to rate first."""
    monkeypatch.setattr(periods_page, "UNITS_PER_PAGE", 2)
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app)
    now = datetime.now(UTC)
    async with demo_app.sessions() as session, session.begin():
        await _rate(session, period_id, ids[1], ids[RINA], 4, now)
        await _rate(session, period_id, ids[3], ids[1], 5, now)
    pages: list[list[list[int]]] = []
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        html = await (await client.get(f"/hr/periods/{period_id}")).text()
        assert f'href="/hr/periods/{period_id}?units=2#units"' in html
        number = 1
        while True:
            pages.append(unit_rows(html))
            if f"?units={number + 1}#units" not in html:
                break
            number += 1
            html = await (await client.get(f"/hr/periods/{period_id}?units={number}")).text()
        bad = await client.get(f"/hr/periods/{period_id}?units=dua")
        assert bad.status == 400
        assert "Nomor halaman harus bilangan bulat" in text_of(await bad.text())
    assert all(len(rows) <= 2 for rows in pages) and len(pages) > 1
    behind = [staff - raters for rows in pages for staff, raters, *_ in rows]
    assert behind == sorted(behind, reverse=True)
    assert sum(staff for rows in pages for staff, *_ in rows) == 50
    assert sum(raters for rows in pages for _, raters, *_ in rows) == 2


async def test_an_open_quarters_participation_is_counted_every_half_minute_and_says_when(
    demo_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counting an open quarter reads every rating of it (1.3 s for 1,000,000): the page shows
    the count it made and when, and counts again after OPEN_SECONDS."""
    ids = await employee_ids(demo_app)
    period_id = await open_quarter(demo_app)
    async with console_client(demo_app) as client:
        await sign_in(client, demo_app)
        before = text_of(await (await client.get(f"/hr/periods/{period_id}")).text())
        assert "0 penilai dari 50 pegawai aktif" in before
        assert "Angka partisipasi: keadaan pukul" in before
        listing = text_of(await (await client.get("/hr/periods")).text())
        assert re.search(r"2025-Q1 terbuka .* 0 0 Tutup 2025-Q1", listing), listing
        assert "dihitung ulang paling lama tiap 30 detik" in listing
        async with demo_app.sessions() as session, session.begin():
            await _rate(session, period_id, ids[1], ids[RINA], 4, datetime.now(UTC))
        soon = text_of(await (await client.get(f"/hr/periods/{period_id}")).text())
        assert "0 penilai dari 50 pegawai aktif" in soon
        listing = text_of(await (await client.get("/hr/periods")).text())
        assert re.search(r"2025-Q1 terbuka .* 0 0 Tutup 2025-Q1", listing), listing
        later = participation._clock() + participation.OPEN_SECONDS + 1
        monkeypatch.setattr(participation, "_clock", lambda: later)
        after = text_of(await (await client.get(f"/hr/periods/{period_id}")).text())
        listing = text_of(await (await client.get("/hr/periods")).text())
    assert "1 penilai dari 50 pegawai aktif" in after
    assert re.search(r"2025-Q1 terbuka .* 1 1 Tutup 2025-Q1", listing), listing
