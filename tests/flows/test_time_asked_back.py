"""An hour that may be morning or evening ("jam 7") is asked back in the chat flows that look
ahead (a scheduled broadcast, a 4-in-1 handover), not guessed; the answer with its part of the
day is then taken (bot/services/when.py, bot/views/when.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import dates
from bot.channels.console import ConsoleChat
from bot.i18n import translator
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


# --- The ask-back is a question: two choices, and the answer typed or picked ----------------


async def schedule(hr, text: str, lang: str | None = None) -> None:
    """HR (Indonesian or English) writes a broadcast to everyone and asks to schedule it."""
    english = lang == "en"
    await hr.send("/menu")
    await hr.press("HR desk" if english else "Meja HR")
    await hr.press("Broadcast" if english else "Siaran")
    await hr.press("Write" if english else "Tulis siaran")
    await hr.send(text)
    await hr.press("Every ASN" if english else "Semua ASN")
    await hr.press("Schedule" if english else "Jadwalkan")


async def asked_hr(chat, demo_app, lang: str | None = None):
    hr = await linked(chat, FAJAR_HR, lang=lang)
    await link_all(demo_app, limit=3)
    await schedule(hr, "Apel pagi di halaman balai kota.", lang)
    await hr.send("besok jam 8")
    return hr


def tomorrow(lang: str = "id") -> str:
    return dates.day(datetime.now(UTC) + timedelta(days=1), lang, ZONE)


async def test_the_ask_back_offers_both_readings_as_choices(chat, demo_app) -> None:
    hr = await asked_hr(chat, demo_app)
    assert "Pagi atau malam" in hr.text
    assert "Pagi, pukul 08.00 WIB" in hr.labels and "Malam, pukul 20.00 WIB" in hr.labels
    await hr.press("Malam, pukul 20.00 WIB")
    assert f"{tomorrow()}, pukul 20.00 WIB" in hr.text and "Pagi atau malam" not in hr.text
    assert "✔ Ya, jadwalkan" in hr.labels


@pytest.mark.parametrize(
    ("answer", "clock"),
    [
        ("pagi", "08.00"),
        ("yg pagi", "08.00"),
        ("malam", "20.00"),
        ("yang mlm", "20.00"),
        ("1", "08.00"),
        ("2", "20.00"),
        ("besok jam 9 pagi", "09.00"),  # a fresh full time is read as before
    ],
)
async def test_the_ask_back_reads_a_typed_answer(chat, demo_app, answer: str, clock: str) -> None:
    hr = await asked_hr(chat, demo_app)
    await hr.send(answer)
    assert f"{tomorrow()}, pukul {clock} WIB" in hr.text and "Pagi atau malam" not in hr.text
    assert "✔ Ya, jadwalkan" in hr.labels


async def test_an_answer_that_is_neither_asks_again_and_a_new_hour_asks_anew(
    chat, demo_app
) -> None:
    hr = await asked_hr(chat, demo_app)
    await hr.send("entah")
    assert "Pagi atau malam" in hr.text and "Pagi, pukul 08.00 WIB" in hr.labels
    await hr.send("besok jam 10")
    assert "Pagi, pukul 10.00 WIB" in hr.labels and "Malam, pukul 22.00 WIB" in hr.labels
    await hr.send("malam")
    assert f"{tomorrow()}, pukul 22.00 WIB" in hr.text


@pytest.mark.parametrize(
    ("typed", "answer", "clock"),
    [
        ("tomorrow 8", "evening", "20.00"),
        ("tomorrow 8", "morning", "08.00"),
        ("tomorrow 8 in the morning", None, "08.00"),
        ("tomorrow 8 in the evening", None, "20.00"),
    ],
)
async def test_in_english(chat, demo_app, typed: str, answer: str | None, clock: str) -> None:
    hr = await linked(chat, FAJAR_HR, lang="en")  # the only one reachable: "1 person"
    await schedule(hr, "Morning roll call.", "en")
    assert "tomorrow 07.30" in hr.text and "besok" not in hr.text
    await hr.send(typed)
    if answer is not None:
        assert "Morning or evening" in hr.text
        assert "Morning, 08.00 WIB" in hr.labels and "Evening, 20.00 WIB" in hr.labels
        await hr.send(answer)
    assert f"{tomorrow('en')}, {clock} WIB" in hr.text
    assert "1 person reachable now" in hr.text


@pytest.mark.parametrize("answer", ["yg malam", "2", "press"])
async def test_a_handover_hour_is_answered(chat, demo_app, answer: str) -> None:
    family = chat("7111")
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7112", OFFICER_PHONE, case.id)
    await officer.press("Konfirmasi wafat")
    await officer.press("Ya, tandai wafat")
    await officer.press("Atur serah terima")
    await officer.send("jumat jam 7")
    assert "Pagi atau malam" in officer.text
    assert "Pagi, pukul 07.00 WIB" in officer.labels and "Malam, pukul 19.00 WIB" in officer.labels
    if answer == "press":
        await officer.press("Malam, pukul 19.00 WIB")
    else:
        await officer.send(answer)
    assert "Di mana dokumen diserahkan" in officer.text
    await officer.send("Balai kota, ruang 2")
    assert "19.00" in officer.text and "Balai kota, ruang 2" in officer.text


async def test_the_console_numbers_the_readings_and_names_only_its_choices(demo_app) -> None:
    from tests.flows.test_broadcast_flow import console_account

    await console_account(demo_app, "198412052009031034", "as-hr-time")
    out: list[str] = []
    console = ConsoleChat(demo_app.dispatcher, "as-hr-time", write=out.append)
    t = translator("id")
    for line in ("/menu", "#Meja HR"):
        await console.send(line, t)
    for label in ("Meja HR", "Siaran", "Tulis siaran"):
        number = next(s for s in reversed(out) if label in s).strip().split(".", 1)[0]
        out.clear()
        await console.send(number, t)
    await console.send("Apel pagi.", t)
    for label in ("Semua ASN", "Jadwalkan"):
        number = next(s for s in reversed(out) if label in s).strip().split(".", 1)[0]
        out.clear()
        await console.send(number, t)
    assert "  (Ketik jawaban Anda, atau #0 untuk memilih.)" in out  # only the menu is shown
    out.clear()
    await console.send("besok jam 8", t)
    assert "  #1. Pagi, pukul 08.00 WIB" in out and "  #2. Malam, pukul 20.00 WIB" in out
    assert "  (Ketik jawaban Anda, atau #1, #2, #0 untuk memilih.)" in out
    out.clear()
    await console.send("1", t)  # typed: the first reading, not one o'clock
    assert f"{tomorrow()}, pukul 08.00 WIB" in "\n".join(out)
