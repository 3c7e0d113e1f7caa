"""Link codes, in small words right (issue point 9): a phone number typed where a link code is
asked is called a phone, and there is no link code for a deceased employee."""

from __future__ import annotations

from sqlalchemy import select, update

from storage.models import Employee
from tests.helpers.rating_helpers import FAJAR_HR, MEGA, linked, phone


async def test_a_phone_typed_for_a_code_is_called_a_phone(chat) -> None:
    user = chat("7401")
    await user.send("/hubungkan")
    await user.press("Pakai kode")
    for typed in ("0812 0000 0001", "+62 812-0000-0001"):
        await user.send(typed)
        assert "tampaknya nomor telepon" in user.text and "bagikan kontak" in user.text
        assert "tidak dikenal" not in user.text.lower()
    await user.share_contact(phone(MEGA))  # and the way it offers works
    assert "berhasil terhubung" in user.text


async def test_no_link_code_for_a_deceased_employee(chat, demo_app) -> None:
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
