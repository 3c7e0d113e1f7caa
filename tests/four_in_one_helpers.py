"""Shared steps of the 4-in-1 tests: what a family would receive, and a family's report."""

from __future__ import annotations

from sqlalchemy import or_, select

from bot.app import App
from bot.delivery import render
from storage.models import Account, Delivery

OFFICER_NIP, OFFICER_PHONE = "197405171997042035", "081200000035"
HR_NIP, HR_PHONE = "198412052009031034", "081200000034"
TASPEN_PHONE, DUKCAPIL_PHONE = "081200000036", "081200000037"
DECEASED_NIP = "199804212024011004"  # Joko Siregar, Sekretariat Daerah


async def inbox(app: App, user_ref: str, channel: str | None = None) -> list[str]:
    """The texts of the notifications pending for one chat, oldest first, in its language.

    The lead switches this to the real drain (issue 5) at merge; until then it renders the
    pending delivery rows exactly as the drain would.
    """
    async with app.sessions() as session:
        # WhatsApp test chats prefix their refs with a country ("ID.7003"), as user ids do.
        query = select(Account).where(
            or_(Account.user_ref == user_ref, Account.user_ref.like(f"%.{user_ref}"))
        )
        if channel is not None:
            query = query.where(Account.channel == channel)
        account = await session.scalar(query)
        if account is None:
            return []
        rows = await session.scalars(
            select(Delivery)
            .where(Delivery.account_id == account.id, Delivery.status == "pending")
            .order_by(Delivery.id)
        )
        return [render(d, account).text for d in rows]


async def link(chat, phone: str) -> None:  # type: ignore[no-untyped-def]
    await chat.send("/start")
    await chat.press("Hubungkan")
    await chat.share_contact(phone)


ID_STEPS = ("Keluarga berduka", "Kemarin", "14.30", "Sari Siregar", "Suami/istri", "Kirim")
EN_STEPS = ("Bereaved families", "Yesterday", "09.00", "Sari", "Spouse", "Send")


async def report_by_nip(family, nip: str = DECEASED_NIP, steps=ID_STEPS) -> str:  # type: ignore[no-untyped-def]
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


async def staff_opens(chat, user_ref: str, phone: str, case_id: int):  # type: ignore[no-untyped-def]
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


async def press_exact(chat, label: str) -> None:  # type: ignore[no-untyped-def]
    """Press the button labelled exactly so ("diproses" is also inside "belum diproses")."""
    for reply in reversed(chat.replies):
        for choice in reply.choices:
            if choice.label == label:
                await chat.action(choice.id)
                return
    raise AssertionError(f"no button {label!r} in {chat.labels}")
