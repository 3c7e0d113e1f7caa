"""An hour that may be morning or evening ("jam 7") is asked back in the chat flows that look
ahead (a scheduled broadcast, a 4-in-1 handover), not guessed; the answer with its part of the
day is then taken (bot/services/when.py, bot/views/when.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import dates
from tests.helpers.delivery_helpers import link_all
from tests.helpers.four_in_one_helpers import OFFICER_PHONE, live_case, report_by_nip, staff_opens
from tests.helpers.rating_helpers import FAJAR_HR, linked

ZONE = ZoneInfo("Asia/Jakarta")


async def test_a_broadcast_at_an_ambiguous_hour_is_asked_back(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await link_all(demo_app, limit=3)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Siaran")
    await hr.press("Tulis siaran")
    await hr.send("Apel pagi di halaman balai kota.")
    await hr.press("Semua ASN")
    await hr.press("Jadwalkan")
    await hr.send("besok jam 7")
    tomorrow = dates.day(datetime.now(UTC) + timedelta(days=1), "id", ZONE)
    assert "Pagi atau malam" in hr.text
    assert f"{tomorrow}, pukul 07.00 WIB" in hr.text and f"{tomorrow}, pukul 19.00 WIB" in hr.text
    assert "Ya, jadwalkan" not in " ".join(hr.labels)
    await hr.send("besok jam 7 malam")
    assert f"{tomorrow}, pukul 19.00 WIB" in hr.text and "Pagi atau malam" not in hr.text
    assert "✔ Ya, jadwalkan" in hr.labels


async def test_a_handover_at_an_ambiguous_hour_is_asked_back(chat, demo_app) -> None:
    family = chat("7101")
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7102", OFFICER_PHONE, case.id)
    await officer.press("Konfirmasi wafat")
    await officer.press("Ya, tandai wafat")
    await officer.press("Atur serah terima")
    await officer.send("lusa jam 10")
    assert "Pagi atau malam" in officer.text and "pukul 22.00" in officer.text
    await officer.send("lusa jam 10 pagi")
    assert "Pagi atau malam" not in officer.text and "Di mana dokumen diserahkan" in officer.text
