"""HR's standings screens say why a score shows as "-" (withheld so a small group of raters
cannot be worked out), once under the list, and only where something is withheld."""

from __future__ import annotations

import re

from bot.services import demo
from bot.services.agencies import ensure_default_agency
from tests.helpers.four_in_one_helpers import HR_PHONE, link

NOTE_ID = "- : nilai tidak ditampilkan agar penilai tidak dapat ditebak."
NOTE_EN = "- : score not shown so that the raters cannot be worked out."


async def _hr_on_published_quarter(chat, demo_app):
    async with demo_app.sessions() as session, session.begin():
        agency = await ensure_default_agency(session, demo_app.settings)
        story = await demo.load(session, agency, demo_app.settings)
    hr = chat("7601")
    await link(hr, HR_PHONE)
    await hr.send("/menu")
    await hr.press("Meja HR")
    await hr.press("Peringkat")
    await hr.press(story.published)
    return hr


async def test_withheld_scores_are_explained_once(chat, demo_app) -> None:
    hr = await _hr_on_published_quarter(chat, demo_app)
    ranked = hr.text
    assert re.search(r"^1\. .*: - \(\d+ penilai\)$", ranked, re.M), ranked  # rank 1 withheld
    assert ranked.count(NOTE_ID) == 1 and ranked.rstrip().endswith(NOTE_ID)
    await hr.press("Pemenang")
    winners = hr.text
    assert (NOTE_ID in winners) == ("nilai -" in winners), winners
    await hr.press("Butuh pembinaan")
    coaching = hr.text
    withheld = re.search(r": - \(\d+ penilai\)", coaching) is not None
    assert (NOTE_ID in coaching) == withheld, coaching


async def test_the_note_in_english(chat, demo_app) -> None:
    hr = await _hr_on_published_quarter(chat, demo_app)
    await hr.send("/language")
    await hr.press("English")
    await hr.send("/menu")
    await hr.press("HR desk")
    await hr.press("Rankings")
    await hr.press(hr.labels[0])
    assert NOTE_EN in hr.text and NOTE_ID not in hr.text
