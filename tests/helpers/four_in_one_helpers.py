"""Shared steps of the 4-in-1 tests: linked staff, a family's report, the live case."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import App
from storage.models import FourInOneCase

OFFICER_NIP, OFFICER_PHONE = "197405171997042035", "081200000035"
HR_NIP, HR_PHONE = "198412052009031034", "081200000034"
TASPEN_PHONE, DUKCAPIL_PHONE = "081200000036", "081200000037"
DECEASED_NIP = "199804212024011004"  # Joko Siregar, Sekretariat Daerah


async def link(chat, phone: str) -> None:
    await chat.send("/start")
    await chat.press("Hubungkan")
    await chat.share_contact(phone)


ID_STEPS = ("Keluarga berduka", "Kemarin", "14.30", "Sari Siregar", "Suami/istri", "Kirim")
EN_STEPS = ("Bereaved families", "Yesterday", "09.00", "Sari", "Spouse", "Send")


async def report_by_nip(family, nip: str = DECEASED_NIP, steps=ID_STEPS) -> str:
    """A family reports a death by NIP, yesterday; returns the tracking code."""
    menu, day, clock, name, relation, send = steps
    await family.send("/start")
    await family.press(menu)
    await family.send(nip)
    await family.send("Joko Siregar")  # asked whether or not the NIP is in the roster
    await family.press(day)
    await family.send(clock)
    await family.send(name)
    await family.press(relation)
    await family.send("0812 9999 1234")
    await family.press(send)
    return code_in(family.text)


async def staff_opens(chat, user_ref: str, phone: str, case_id: int):
    """A staff member links their chat and opens one case from their queue."""
    staff = chat(user_ref)
    await link(staff, phone)
    await staff.press("Keluarga berduka")
    await staff.press(f"#{case_id}")
    return staff


def code_in(text: str) -> str:
    import re

    found = re.search(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", text)
    assert found, text
    return found.group(0)


async def officer_case_code(cli) -> str:
    """A case an officer opened for a pensioner's family (Rahmat, 081377778888): its code."""
    opened = await cli(
        "case", "open", "--name", "Hj. Aminah", "--pensioner", "123456",
        "--died", "2026-11-19 10:00",
        "--family-name", "Rahmat", "--relation", "child", "--phone", "081377778888",
    )  # fmt: skip
    return code_in(opened.out)


async def press_exact(chat, label: str) -> None:
    """Press the button labelled exactly so ("diproses" is also inside "belum diproses")."""
    for reply in reversed(chat.replies):
        for choice in reply.choices:
            if choice.label == label:
                await chat.action(choice.id)
                return
    raise AssertionError(f"no button {label!r} in {chat.labels}")


async def live_case(app: App) -> FourInOneCase:
    """The first case that was not merged into another (None when there is none)."""
    async with app.sessions() as session:
        return await session.scalar(  # type: ignore[return-value]
            select(FourInOneCase).where(FourInOneCase.status != "merged").order_by(FourInOneCase.id)
        )
