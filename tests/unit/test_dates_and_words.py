"""Dates, spreadsheet headers and post-check advice in the user's language (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

from openpyxl import load_workbook

from bot import dates
from bot.i18n import translator
from bot.services import standings
from bot.services.periods import QuarterRef, quarter_bounds


def test_one_date_style_in_both_languages() -> None:
    at = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)  # Monday 06.00 in Jakarta
    assert (
        dates.moment(at, "Asia/Jakarta", translator("id")) == "Senin, 7 Des 2026, pukul 06.00 WIB"
    )
    assert dates.moment(at, "Asia/Jakarta", translator("en")) == "Monday, 7 Dec 2026, 06.00 WIB"
    assert dates.moment(at, "Asia/Makassar", "id").endswith("pukul 07.00 WITA")
    assert dates.moment(at, "Asia/Jayapura", "id").endswith("pukul 08.00 WIT")
    _start, end = quarter_bounds(QuarterRef(2026, 4), dates.ZoneInfo("Asia/Jakarta"))
    assert dates.until(end, "Asia/Jakarta", "id") == "Kamis, 31 Des 2026"  # not 01-01-2027 00:00
    assert dates.until(end, "Asia/Jakarta", "en") == "Thursday, 31 Dec 2026"


def test_xlsx_headers_follow_the_language() -> None:
    row = standings.Row(1, 1, "1" * 18, "A", "U", 4.0, 3, True, {})
    for locale, rank, eligible in (
        ("id", "Peringkat instansi", "Ya"),
        ("en", "Agency rank", "Yes"),
    ):
        t = translator(locale)
        content = standings.write_xlsx(standings.export_records([row]), "x", t)
        sheet = load_workbook(BytesIO(content)).active
        assert sheet is not None
        head, first = [list(r) for r in sheet.iter_rows(values_only=True)][:2]
        assert head[0] == rank and "rank_agency" not in head and eligible in first


def test_english_post_check_gives_english_advice() -> None:
    from bot.services import guidance
    from bot.services.post_checker import check

    content = guidance.load()
    result = check(content, "Ayo coblos nomor 2!", "en")
    assert result.findings and all("Ganti" not in f.safer for f in result.findings)
    indonesian = check(content, "Ayo coblos nomor 2!", "id")
    assert any("Ganti dengan ajakan netral" in f.safer for f in indonesian.findings)
