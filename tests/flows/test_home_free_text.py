"""Words typed on the main menu, from a tester's findings: a family following its case in its
own words, a tracking code typed as it is, a thank-you; and the reporter who typed their own
code is not offered to follow what they already follow (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.services import four_in_one as cases
from bot.services import intent
from tests.helpers.four_in_one_helpers import report_by_nip

# Written before the word lists were changed: how families ask after their case.
FAMILY_TRACKING = (
    "min mau cek status dokumen bapak sy",
    "gmn kabar dokumen bapak saya",
    "kapan akta kematian jadi?",
    "cek status",
    "status dokumen",
    "mau lacak dokumen",
    "lacak kasus ibu saya",
    "dokumen almarhum sudah sampai mana ya",
    "sudah sampai mana min?",
    "kk baru sudah jadi belum?",
    "ktp ibu saya kapan selesai",
    "taspen sudah cair belum",
    "min, kabarnya gimana berkas bapak",
    "gimana perkembangan dokumen 4in1 ayah saya",
    "akta kematian sudah jadi?",
    "cek dokumen",
    "status akta kematian suami saya",
    "ada kabar soal kartu keluarga?",
    "track my case",
    "what is the status of the documents?",
    "where are my documents",
    "check status",
    "progres dokumen",
    "dokumen saya bagaimana",
)
# Real guidance questions that must keep going to the guidance answers.
GUIDANCE = (
    "apa sanksi flexing di medsos?",
    "bolehkah pasang status dukungan caleg?",
    "boleh share berita yang belum dicek?",
    "gimana kalau saya like postingan partai?",
    "apakah boleh posting foto ktp di instagram?",
    "kenapa asn harus netral saat pilkada?",
    "apa hukuman kalau menyebarkan hoaks?",
    "can I post a status about the election?",
    "bagaimana cara cek fakta sebelum share kabar?",
    "apakah ASN boleh update status soal politik?",
    "is it allowed to share campaign posts?",
)
FAMILY_FIRST = Path(__file__).parents[1] / "data" / "family_first_messages.csv"


@pytest.mark.parametrize("text", FAMILY_TRACKING)
def test_family_tracking_words_are_read_as_tracking(text: str) -> None:
    assert intent.classify(text) in (intent.TRACK, intent.DEATH), text


@pytest.mark.parametrize("text", GUIDANCE)
def test_guidance_questions_are_not_taken_for_tracking(text: str) -> None:
    assert intent.classify(text) == intent.QUESTION, text


def test_first_reports_of_a_death_are_not_taken_for_tracking() -> None:
    with FAMILY_FIRST.open(encoding="utf-8") as fh:
        messages = [row["message"] for row in csv.DictReader(fh)]
    assert messages and all(intent.classify(m) == intent.DEATH for m in messages)


def test_thanks_and_codes_are_read() -> None:
    for text in ("terima kasih min", "makasih", "thanks", "Terima kasih banyak 🙏", "thank you"):
        assert intent.classify(text) == intent.THANKS, text
    code = cases.new_code()
    for typed in (code, code.lower(), code.replace("-", " "), code.replace("-", "")):
        assert intent.is_code(typed), typed
    for text in (
        "terima kasih",
        "makasihbanyak",
        "saya mau lapor",
        "asdfgh qwerty",
        "ayah saya baru",
    ):
        assert not intent.is_code(text), text


async def test_family_follows_its_case_in_its_own_words(chat, demo_app) -> None:
    family = chat("7501")
    await report_by_nip(family)
    for text in (
        "min mau cek status dokumen bapak sy",
        "gmn kabar dokumen bapak saya",
        "kapan akta kematian jadi?",
        "sudah sampai mana ya min",
    ):
        await family.send("/menu")
        await family.send(text)
        assert "Akta kematian: belum diproses" in family.text, text
        assert "Santun" not in family.text and "belum mengerti" not in family.text


async def test_tracking_words_without_a_case_ask_for_the_code(chat) -> None:
    stranger = chat("7502")
    await stranger.send("/start")
    await stranger.send("min mau cek status dokumen bapak sy")
    assert "kode lacak" in stranger.text and "belum mengerti" not in stranger.text
    await stranger.send(cases.new_code())  # the screen waits for the code
    assert "tidak kami kenal" in stranger.text


async def test_a_code_typed_on_the_menu_is_taken_as_the_code(chat, demo_app) -> None:
    code = await report_by_nip(chat("7503"))
    other = chat("7504")
    await other.send("/start")
    await other.send(" " + code.lower() + " ")
    assert "Akta kematian: belum diproses" in other.text
    assert any("Kirimi saya kabar" in label for label in other.labels)  # not yet following
    await other.send("/menu")
    await other.send(cases.new_code())
    assert "tidak kami kenal" in other.text and "belum mengerti" not in other.text


async def test_codes_typed_on_the_menu_share_the_cap(chat, demo_app) -> None:
    await report_by_nip(chat("7505"))
    stranger = chat("7506")
    await stranger.send("/start")
    for _ in range(demo_app.settings.four_in_one_code_attempts):
        await stranger.send("/menu")
        await stranger.send(cases.new_code())
        assert "tidak kami kenal" in stranger.text
    await stranger.send("/menu")
    await stranger.send(cases.new_code())
    assert "Terlalu banyak percobaan" in stranger.text


async def test_thanks_gets_a_polite_answer_and_the_menu(chat) -> None:
    user = chat("7507")
    await user.send("/start")
    for text in ("terima kasih min", "makasih", "thanks"):
        await user.send(text)
        assert "Sama-sama" in user.text and "belum mengerti" not in user.text, text
        assert any("Keluarga berduka" in label for label in user.labels)


async def test_thanks_in_english(chat) -> None:
    user = chat("7508")
    await user.send("/start")
    await user.send("/language")
    await user.press("English")
    await user.send("thank you")
    assert "welcome" in user.text.lower() and "Sama-sama" not in user.text


async def test_reporter_typing_own_code_is_not_offered_to_follow(chat, demo_app) -> None:
    family = chat("7509")
    code = await report_by_nip(family)
    await family.send("/lacak " + code)
    assert "Akta kematian: belum diproses" in family.text
    assert not any("Kirimi saya kabar" in label for label in family.labels)
    await family.send("/menu")
    await family.send(code)
    assert not any("Kirimi saya kabar" in label for label in family.labels)
    await family.send("/menu")
    await family.press("Kasus keluarga saya")  # the menu entry: still the same case
    await family.press("Lacak kode lain")
    await family.send(code)
    assert "Akta kematian: belum diproses" in family.text
    assert not any("Kirimi saya kabar" in label for label in family.labels)
