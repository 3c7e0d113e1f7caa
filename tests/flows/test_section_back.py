"""Inside a section of the main menu (the HR desk), the way back leads to the section, and the
section's own screen leads on to the main menu."""

from __future__ import annotations

from tests.helpers.rating_helpers import FAJAR_HR, linked


async def test_hr_desk_screens_lead_back_to_the_hr_desk(chat, demo_app) -> None:
    hr = await linked(chat, FAJAR_HR)
    await hr.send("/menu")
    await hr.press("Meja HR")
    assert hr.labels[-1] == "⬅ Menu utama", (hr.text, hr.labels)
    await hr.press("Siaran")
    assert hr.labels[-1] == "⬅ Meja HR", hr.labels
    await hr.press("Tulis siaran")  # a step deeper, waiting for typed words: still the desk's
    assert hr.labels[-1] == "⬅ Meja HR", hr.labels
    await hr.press("Meja HR")
    assert "Meja HR" in hr.text and hr.labels[-1] == "⬅ Menu utama", hr.labels
    await hr.press("Menu utama")
    assert "Meja HR" in " ".join(hr.labels)  # the main menu again
    await hr.press("Etika bermedsos")  # outside any section: straight back to the main menu
    assert hr.labels[-1] == "⬅ Menu utama", hr.labels
