"""One date style, a period that ends on its last day, and small words right (issue point 9):
a phone number typed where a link code is asked, and no link code for a deceased employee."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select, update

from bot import dates
from bot.i18n import translator
from bot.services import standings
from bot.services.periods import QuarterRef, quarter_bounds
from storage.models import Employee
from tests.rating_helpers import FAJAR_HR, MEGA, linked, phone


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


async def test_a_phone_typed_for_a_code_is_called_a_phone(chat) -> None:  # type: ignore[no-untyped-def]
    user = chat("7401")
    await user.send("/hubungkan")
    await user.press("Pakai kode")
    for typed in ("0812 0000 0001", "+62 812-0000-0001"):
        await user.send(typed)
        assert "tampaknya nomor telepon" in user.text and "bagikan kontak" in user.text
        assert "tidak dikenal" not in user.text.lower()
    await user.share_contact(phone(MEGA))  # and the way it offers works
    assert "berhasil terhubung" in user.text


async def test_no_link_code_for_a_deceased_employee(chat, demo_app) -> None:  # type: ignore[no-untyped-def]
    async with demo_app.sessions() as session, session.begin():
        await session.execute(
            update(Employee).where(Employee.name == "Mega Hidayat").values(status="deceased")
        )
    hr = await linked(chat, FAJAR_HR)
    await hr.press("Meja HR")
    await hr.press("Kelola akun")
    await hr.send("mega hidayat")
    if any("Mega Hidayat" == label for label in hr.labels):
        await hr.press("Mega Hidayat")
    assert "telah meninggal dunia" in hr.text
    assert not any("kode" in label.lower() for label in hr.labels)
    async with demo_app.sessions() as session:
        mega = await session.scalar(select(Employee).where(Employee.name == "Mega Hidayat"))
        assert mega is not None
    await hr.action(f"admin:code:{mega.id}")  # a forged or old button: still no code
    assert "Kode tautan" not in hr.text


def test_english_post_check_gives_english_advice() -> None:
    from bot.services import guidance
    from bot.services.post_checker import check

    content = guidance.load()
    result = check(content, "Ayo coblos nomor 2!", "en")
    assert result.findings and all("Ganti" not in f.safer for f in result.findings)
    indonesian = check(content, "Ayo coblos nomor 2!", "id")
    assert any("Ganti dengan ajakan netral" in f.safer for f in indonesian.findings)
