"""4-in-1 conversations: a family reports and follows, officers work the queue (SQLite and PG)."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services import four_in_one as cases
from storage.models import (
    Account,
    Agency,
    AuditLog,
    CaseEvent,
    Delivery,
    Employee,
    EmployeeRole,
    FourInOneCase,
    Unit,
)
from tests.helpers.four_in_one_helpers import (
    DECEASED_NIP,
    DUKCAPIL_PHONE,
    EN_STEPS,
    HR_PHONE,
    OFFICER_PHONE,
    TASPEN_PHONE,
    code_in,
    link,
    live_case,
    press_exact,
    report_by_nip,
    staff_opens,
)


async def _set(officer, case_id: int, doc: str, status: str, note: str | None = None) -> None:
    await officer.action(f"case:show:{case_id}")
    await officer.press(doc)
    await press_exact(officer, status)
    if note:
        await officer.send(note)
    else:
        await officer.press("Tanpa catatan")


async def test_family_reports_by_nip_without_retyping_what_the_office_has(chat, demo_app) -> None:
    family = chat("7001")
    await family.send("/start")
    assert any("Keluarga berduka" in label for label in family.labels)  # guests see it
    await family.press("Keluarga berduka")
    assert "turut berduka" in family.text
    await family.send(DECEASED_NIP)
    assert "NIP sudah kami catat" in family.text  # the same words for any NIP
    await family.send("Pak Joko")  # no unit asked: the NIP identifies him
    assert "Joko" not in family.text  # a typed NIP does not reveal who it belongs to
    await family.press("Kemarin")
    await family.send("14.30")
    await family.send("Sari Siregar")
    await family.press("Suami/istri")
    await family.send("0812 9999 1234")
    assert "Sari Siregar" in family.text and "NIP " + DECEASED_NIP in family.text
    await family.press("Kirim")
    code = code_in(family.text)
    assert "Buku tabungan TASPEN: belum diproses" in family.text
    assert "Target:" in family.text and "malam" in family.text and "pukul 19.00 WIB" in family.text
    case = await live_case(demo_app)
    assert case.deceased_name == "Joko Siregar" and case.deceased_unit == "Sekretariat Daerah"
    assert case.status == "open" and case.match_confirmed_at is None
    assert case.tracking_hash != code and code.replace("-", "") not in case.tracking_hash
    async with demo_app.sessions() as session:
        joko = await session.scalar(select(Employee).where(Employee.nip == DECEASED_NIP))
        assert joko.status == "active"  # never on the family's word alone
    await family.send("/menu")
    await family.press("Kasus keluarga saya")  # now the family's own case, not a new report
    assert "Akta kematian: belum diproses" in family.text and "NIP" not in family.text


async def test_family_without_nip_gives_name_and_unit_garbage_gets_answers(chat, demo_app) -> None:
    family = chat("7002")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.send("12345")
    assert "18 angka" in family.text
    await family.send("Alm. Joko  Siregar")
    assert "unit kerja" in family.text
    await family.send("Sekretariat Daerah")
    await family.send("31-02-2026")
    assert "belum bisa kami baca" in family.text and any("Kemarin" in x for x in family.labels)
    await family.send("01-01-2099")
    assert "belum tiba" in family.text
    await family.press("Kemarin")
    await family.send("jam 25")
    assert "Jam belum bisa kami baca" in family.text
    await family.press("Tidak ingat")
    await family.send("Budi")
    await family.action("case:rel:cousin")  # forged relation
    assert "sudah tidak berlaku" in family.text
    await family.send("/menu")
    assert await live_case(demo_app) is None  # nothing half-made was stored


async def test_officer_flow_statuses_notify_family_then_receipt_closes(
    chat, demo_app, inbox
) -> None:
    family = chat("7003")
    await report_by_nip(family)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7004", OFFICER_PHONE, case.id)
    assert "Joko Siregar" in officer.text and "Sari Siregar" in officer.text
    assert "menunggu konfirmasi" in officer.text
    await officer.press("Konfirmasi wafat")
    assert "Tandai Joko Siregar" in officer.text  # asked first: this changes the roster
    async with demo_app.sessions() as session:
        joko = await session.scalar(select(Employee).where(Employee.nip == DECEASED_NIP))
        assert joko.status == "active"
    await officer.press("Ya, tandai wafat")
    assert "ditandai wafat" in officer.text
    await officer.press("Atur serah terima")
    await officer.send("25.00")
    assert "belum bisa kami baca" in officer.text  # said so, not taken for a place
    await officer.send("01-01-2020 19.00")
    assert "sudah lewat" in officer.text and "Kapan dokumen diserahkan" in officer.text
    await officer.press("Sesuai jadwal")
    await officer.send("Masjid Al-Huda, Jl. Merdeka 10")
    assert "Serah terima: " in officer.text and "Masjid Al-Huda, Jl. Merdeka 10" in officer.text
    await _set(officer, case.id, "Akta kematian", "diproses", "Sedang dicetak di Dukcapil")
    assert "Tersimpan" in officer.text and "Akta kematian: diproses" in officer.text
    got = await inbox("7003")
    assert got == [
        f"Kabar dokumen keluarga (kasus #{case.id}): Akta kematian kini diproses.\n"
        "📝 Sedang dicetak di Dukcapil"
    ]
    for doc in ("TASPEN", "Akta kematian", "KK", "KTP"):
        await _set(officer, case.id, doc, "siap")
    got = await inbox("7003")
    assert len(got) == 6 and "Keempat dokumen" in got[-1] and "Masjid Al-Huda" in got[-1]
    assert "malam" in got[-1] and "19.00 WIB" in got[-1]
    await family.send("/menu")
    await family.press("Kasus keluarga saya")
    assert "Keempat dokumen sudah siap" in family.text
    await family.press("Sudah diterima")
    await family.press("Ya, sudah diterima")  # asked first: it closes the case
    assert "Kasus ini kami tutup" in family.text
    async with demo_app.sessions() as session:
        closed = await session.get(FourInOneCase, case.id)
        assert closed.status == "closed" and closed.handed_over_at is not None
        assert {d.status for d in closed.documents} == {"handed_over"}
        joko = await session.scalar(select(Employee).where(Employee.nip == DECEASED_NIP))
        assert joko.status == "deceased"
        views = await session.scalar(
            select(func.count()).where(
                AuditLog.action == "case.view", AuditLog.target == f"case:{case.id}"
            )
        )
        assert views >= 6  # every staff read of the case
        events = list(await session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)))
        status_events = [e for e in events if e.kind == "status"]
        assert all(e.actor.startswith(("employee:", "account:")) and e.at for e in status_events)
        assert len(status_events) == 5 + 4  # officer's five changes, family's four handovers


async def test_liaison_sees_own_documents_forged_payloads_refused(chat, demo_app) -> None:
    await report_by_nip(chat("7010"))
    case = await live_case(demo_app)
    taspen = await staff_opens(chat, "7011", TASPEN_PHONE, case.id)
    assert "📘 TASPEN" in taspen.labels and "📄 Akta kematian" not in taspen.labels
    await taspen.action(f"case:set:{case.id}:death_certificate:2")
    await taspen.press("Tanpa catatan")
    assert "diurus petugas lain" in taspen.text
    await taspen.action(f"case:set:{case.id}:taspen_book:9")
    assert "sudah tidak berlaku" in taspen.text
    for forged in ("case:show:99999", "case:show:abc", "case:set:1:x:1", "case:doc:1"):
        await taspen.action(forged)
        assert "sudah tidak berlaku" in taspen.text
    dukcapil = chat("7012")
    await link(dukcapil, DUKCAPIL_PHONE)
    await dukcapil.action(f"case:doc:{case.id}:taspen_book")
    assert "pilih status" not in dukcapil.text
    stranger = chat("7013")
    await stranger.action(f"case:show:{case.id}")
    assert "Joko" not in stranger.text
    await stranger.action(f"case:received:{case.id}")
    assert "Kasus ini kami tutup" not in stranger.text
    async with demo_app.sessions() as session:
        docs = {d.kind: d.status for d in (await session.get(FourInOneCase, case.id)).documents}
        assert set(docs.values()) == {"pending"}


async def test_tracking_code_shows_statuses_only_and_can_follow(chat, demo_app, inbox) -> None:
    officer = chat("7020")
    await link(officer, OFFICER_PHONE)
    await officer.press("Keluarga berduka")
    await officer.press("Buka untuk keluarga")
    await officer.send("Hj. Aminah")
    await officer.send("123456789")  # a pension number
    await officer.press("Kemarin")
    await officer.send("07.15")
    await officer.send("Rahmat")
    await officer.press("Anak")
    await officer.send("081377778888")
    await officer.press("Kirim")
    code = code_in(officer.text)
    assert "Serahkan kode" in officer.text
    family = chat("7021")
    await family.send("/start")
    await family.press("Keluarga berduka")
    await family.press("Punya kode lacak")
    await family.send(code.lower().replace("-", " "))
    assert "Akta kematian: belum diproses" in family.text
    for private in ("Aminah", "Rahmat", "0813", "123456789"):
        assert private not in family.text
    await family.press("Kirimi saya kabar")
    case = await live_case(demo_app)
    await officer.action(f"case:show:{case.id}")
    await officer.press("KTP")
    await press_exact(officer, "diproses")
    await officer.press("Tanpa catatan")
    assert await inbox("7021") == [
        f"Kabar dokumen keluarga (kasus #{case.id}): KTP baru kini diproses."
    ]


async def test_guessing_codes_is_capped_and_learns_nothing(chat, demo_app) -> None:
    await report_by_nip(chat("7030"))
    stranger = chat("7031")
    await stranger.send("/start")
    await stranger.press("Keluarga berduka")
    await stranger.press("Punya kode lacak")
    for _ in range(demo_app.settings.four_in_one_code_attempts):
        await stranger.send(cases.new_code())
        assert "tidak kami kenal" in stranger.text and "Joko" not in stranger.text
    await stranger.send(cases.new_code())
    assert "Terlalu banyak percobaan" in stranger.text
    await stranger.send("/lacak " + cases.new_code())
    assert "Terlalu banyak percobaan" in stranger.text
    assert len(cases.clean_code(cases.new_code())) >= 10


async def test_second_report_of_same_death_waits_for_the_desk(chat, demo_app, inbox) -> None:
    """Was: the second reporter was told the death "sudah dilaporkan sebelumnya", handed a code
    to the first case and followed it. Now they get the words of any new report, a code to a
    report of their own, and nothing of the first case until a desk officer decides."""
    first = chat("7040")
    first_code = await report_by_nip(first)
    first_words = first.text.replace(first_code, "<code>").replace("#1)", "#<n>)")
    second = chat("7041")
    code = await report_by_nip(second)
    assert "sudah dilaporkan" not in second.text and code != first_code
    async with demo_app.sessions() as session:
        live = list(
            await session.scalars(select(FourInOneCase).where(FourInOneCase.status == "open"))
        )
        held = list(
            await session.scalars(select(FourInOneCase).where(FourInOneCase.status == "duplicate"))
        )
        assert len(live) == 1 and len(held) == 1 and held[0].duplicate_of_id == live[0].id
        # Each reporter's details stay with their own report.
        assert [c.phone for c in live[0].contacts] == ["6281299991234"]
        found = await cases.by_code(session, code)
        assert found is not None and found.id == held[0].id
    second_words = second.text.replace(code, "<code>").replace(f"#{held[0].id})", "#<n>)")
    assert second_words == first_words
    officer = chat("7042")
    await link(officer, OFFICER_PHONE)
    await _set(officer, live[0].id, "KK", "diproses")
    assert len(await inbox("7040")) == 1 and await inbox("7041") == []


async def test_english_family_gets_english_words(chat, demo_app) -> None:
    family = chat("7050", lang="en")
    await report_by_nip(family, steps=EN_STEPS)
    assert "Target:" in family.text and "evening" in family.text and "at 19.00 WIB" in family.text
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 0


async def test_hr_sees_report_in_chat_and_huge_notes_are_cut(chat, demo_app) -> None:
    await report_by_nip(chat("7060"))
    case = await live_case(demo_app)
    hr = chat("7061")
    await link(hr, HR_PHONE)
    await hr.press("Keluarga berduka")
    assert f"#{case.id} Joko Siregar: 0/4 siap" in hr.text
    await _set(hr, case.id, "KK", "siap", "catatan " * 2000)
    assert "Tersimpan. Keluarga sudah diberi kabar" in hr.text
    async with demo_app.sessions() as session:
        docs = {d.kind: d for d in (await session.get(FourInOneCase, case.id)).documents}
        assert len(docs["family_card"].note) == cases.NOTE_LIMIT
        assert docs["family_card"].status == "ready" and docs["family_card"].ready_at is not None
    await hr.press("Antrean")
    await hr.press("Laporan 4-in-1")
    month = case.opened_month
    assert f"{month}: 1 kasus, 0 diserahkan tepat waktu (0%), 0 terlambat" in hr.text
    assert "KK 0,0" in hr.text and "TASPEN -" in hr.text
    officer = chat("7062")
    await link(officer, OFFICER_PHONE)
    await officer.press("Keluarga berduka")
    assert "Laporan 4-in-1" not in officer.labels
    await officer.action("case:report")
    assert "bukan untuk akun Anda" in officer.text
    await officer.press("Keluarga berduka")
    await officer.press("Buka untuk keluarga")
    await officer.send("Siti Aminah")
    await officer.send("Dinas Pendidikan")
    await officer.press("Kemarin")
    await officer.press("Tidak ingat")
    assert "anggota keluarga yang bisa dihubungi" in officer.text  # worded for the officer


async def test_officers_of_another_agency_see_nothing(chat, demo_app, cli) -> None:
    await report_by_nip(chat("7070"))
    case = await live_case(demo_app)
    async with demo_app.sessions() as session, session.begin():
        other = Agency(code="kab-lain", name="Kabupaten Lain", timezone="Asia/Makassar")
        session.add(other)
        await session.flush()
        unit = Unit(agency_id=other.id, name="BKPSDM")
        session.add(unit)
        await session.flush()
        stranger = Employee(
            agency_id=other.id, nip="198001012005011001", name="Petugas Lain", unit_id=unit.id,
            kind="PNS",
        )  # fmt: skip
        session.add(stranger)
        await session.flush()
        session.add(EmployeeRole(employee_id=stranger.id, role="officer"))
    officer = chat("7071")
    async with demo_app.sessions() as session, session.begin():
        # The stranger's chat account, on whichever channel this run talks through.
        session.add(
            Account(
                agency_id=other.id, channel=officer.channel, user_ref=officer.user_ref,
                chat_ref=officer.user_ref, employee_id=stranger.id,
            )
        )  # fmt: skip
    await officer.send("/menu")
    await officer.press("Keluarga berduka")
    assert "Tidak ada kasus" in officer.text and "Joko" not in officer.text
    for payload in (f"case:show:{case.id}", f"case:doc:{case.id}:id_card", f"case:match:{case.id}"):
        await officer.action(payload)
        assert "sudah tidak berlaku" in officer.text and "Joko" not in officer.text
    await officer.action(f"case:set:{case.id}:id_card:2")
    assert "sudah tidak berlaku" in officer.text
    shown = await cli("case", "show", str(case.id), "--agency", "kab-lain")
    assert shown.code == 1 and "tidak ditemukan" in shown.err
    async with demo_app.sessions() as session:
        docs = (await session.get(FourInOneCase, case.id)).documents
        assert {d.status for d in docs} == {"pending"}


async def test_english_family_is_notified_in_english(chat, demo_app, inbox) -> None:
    family = chat("7080", lang="en")
    await report_by_nip(family, steps=EN_STEPS)
    case = await live_case(demo_app)
    officer = await staff_opens(chat, "7081", OFFICER_PHONE, case.id)
    await officer.press("Akta kematian")
    await press_exact(officer, "siap")
    await officer.press("Tanpa catatan")
    assert await inbox("7080") == [
        f"News on the family documents (case #{case.id}): Death certificate is now ready."
    ]
