"""How families ask what they are entitled to, written before the word list (held out), and
messages that must keep their meaning: a first report of a death, following a case."""

from __future__ import annotations

import pytest

from bot.services import intent

ASKING = (
    "apa saja hak janda pns",
    "hak keluarga pns yang meninggal apa aja",
    "uang duka wafat berapa?",
    "pensiun janda gimana ngurusnya",
    "apa hak ahli waris pensiunan",
    "santunan kematian pns",
    "min, istri sy dpt pensiun duda ga?",
    "anak yatim dapat pensiun?",
    "gaji terusan suami saya",
    "biaya pemakaman ditanggung taspen?",
    "tabungan hari tua almarhum bisa diambil?",
    "what is the family entitled to",
    "widow's pension",
    "death benefit for civil servant",
)
NOT_ASKING = (
    "bapak saya meninggal tadi pagi",
    "assalamualaikum, bapak sy meninggal td pagi",
    "taspen sudah cair belum",
    "cek status dokumen bapak",
    "apa sanksi flexing di medsos?",
)


@pytest.mark.parametrize("text", ASKING)
def test_asking_about_entitlements_is_read_as_such(text: str) -> None:
    assert intent.classify(text) == intent.RIGHTS, text


@pytest.mark.parametrize("text", NOT_ASKING)
def test_other_messages_keep_their_meaning(text: str) -> None:
    assert intent.classify(text) != intent.RIGHTS, text
