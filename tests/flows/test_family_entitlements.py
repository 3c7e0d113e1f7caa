"""What the family is entitled to, from its case's screens and from its own words, in both
languages: an active PNS's family, a pensioner's, and a guest whose case says nothing (SQLite
and PostgreSQL, direct and WhatsApp-style chats)."""

from __future__ import annotations

from tests.fakes.chat import Chat
from tests.helpers.four_in_one_helpers import (
    EN_STEPS,
    officer_case_code,
    report_by_nip,
)


async def test_an_active_pns_family_sees_its_rights_from_the_report(chat, demo_app) -> None:
    family = chat("7601")
    await report_by_nip(family)  # Joko Siregar, a PNS of the roster
    await family.press("Hak keluarga")
    text = family.text
    assert "PNS aktif" in text and "Jaminan Kematian (JKM)" in text
    assert "PP No. 70 Tahun 2015" in text and "https://" in text
    assert "pensiunan" not in text.lower().split("sumber")[0]  # no pensioner's rights
    assert "Dokumen 4-in-1" in text and "Akta kematian" in text and "30 hari" in text
    assert "informasi umum" in text  # nobody has reviewed the shipped content
    await family.press("Kembali")
    assert "Akta kematian: belum diproses" in family.text


async def test_a_pensioners_family_sees_pension_rights_from_tracking(cli, demo_app) -> None:
    code = await officer_case_code(cli)  # Hj. Aminah, pension number 123456
    family = Chat(demo_app, "7602")
    await family.send("/lacak " + code)
    await family.press("Kirimi saya kabar")
    await family.send("/lacak")
    await family.press("Hak keluarga")
    text = family.text
    assert "pensiunan PNS" in text and "Uang duka wafat dan asuransi kematian" in text
    assert "Gaji atau pensiun terusan 4 bulan" in text and "UU No. 11 Tahun 1969" in text
    assert "Jaminan Kematian (JKM)" not in text  # an active employee's benefit


async def test_a_guest_asks_in_words_and_sees_both_readings(chat) -> None:
    guest = chat("7603")
    await guest.send("/start")
    await guest.send("apa saja hak janda pns")
    text = guest.text
    assert "JIKA ALMARHUM/ALMARHUMAH PNS AKTIF" in text
    assert "JIKA ALMARHUM/ALMARHUMAH PENSIUNAN PNS" in text
    assert "Pensiun janda/duda" in text and "belum mengerti" not in text


async def test_in_english_from_words_and_from_the_case(chat) -> None:
    guest = chat("7604", lang="en")
    await guest.send("/start")
    await guest.send("what is the family entitled to?")
    assert "IF THE DECEASED WAS A RETIRED PNS" in guest.text
    assert "general information" in guest.text
    family = chat("7605", lang="en")
    await report_by_nip(family, steps=EN_STEPS)
    await family.send("widow's pension?")
    assert "the deceased was an active PNS" in family.text
    assert "Death benefit (JKM) from TASPEN" in family.text


async def test_another_chat_cannot_read_a_case_it_does_not_follow(chat, demo_app) -> None:
    await report_by_nip(chat("7606"))
    stranger = chat("7607")
    await stranger.send("/start")
    await stranger.action("case:rights:1")
    assert "sudah tidak berlaku" in stranger.text and "Jaminan Kematian" not in stranger.text
