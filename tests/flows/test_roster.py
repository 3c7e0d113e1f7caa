"""`abdi roster import/export` semantics, on SQLite and PostgreSQL, through the service and the CLI.

Every test reads a real file (CSV or XLSX written here), imports it in one transaction like the CLI
does, and then looks at what the database holds.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from bot.app import App
from bot.cli.demo import DEMO_ROSTER
from bot.config import Settings
from bot.services import roster
from bot.services.agencies import ensure_default_agency
from storage.models import Agency, AuditLog, Employee, Unit

COLUMNS = roster.COLUMNS


# ---------------------------------------------------------------- NIPs and files


def pns(
    birth: str = "19850101", tmt: str = "201001", gender: str = "1", serial: str = "001"
) -> str:
    """A PNS NIP: birth date, month of first appointment, gender digit, serial."""
    return f"{birth}{tmt}{gender}{serial}"


def pppk(
    birth: str = "19900101",
    year: str = "2022",
    code: str = "57",
    gender: str = "2",
    serial: str = "001",
) -> str:
    """A PPPK number: birth date, appointment year, a 2-digit code, gender digit, serial."""
    return f"{birth}{year}{code}{gender}{serial}"


def person(nip: str, **fields: str) -> dict[str, str]:
    row = {
        "nip": nip,
        "name": f"Pegawai {nip[-4:]}",
        "position": "Analis",
        "unit": "Dinas Uji",
        "supervisor_nip": "",
        "kind": "PNS",
        "phone": "",
        "role": "",
    }
    row.update(fields)
    return row


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] | None = None) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header or list(COLUMNS))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


async def import_file(app: App, path: Path, agency_code: str | None = None) -> roster.ImportReport:
    agency: Agency | None
    async with app.sessions() as session, session.begin():
        if agency_code is None:
            agency = await ensure_default_agency(session, app.settings)
        else:
            agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
            assert agency is not None
        return await roster.import_roster(session, agency, roster.read_rows(path), "test")


async def exported(app: App, agency_code: str | None = None) -> list[list[str]]:
    agency: Agency | None
    async with app.sessions() as session:
        if agency_code is None:
            agency = await ensure_default_agency(session, app.settings)
        else:
            agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
            assert agency is not None
        return await roster.export_rows(session, agency)


async def people(app: App) -> dict[str, dict[str, object]]:
    """NIP -> what the database holds about that employee, supervisor as a NIP."""
    async with app.sessions() as session:
        employees = list(await session.scalars(select(Employee)))
        nips = {e.id: e.nip for e in employees}
        return {
            e.nip: {
                "name": e.name,
                "position": e.position,
                "unit": e.unit.name,
                "supervisor": nips.get(e.supervisor_id) if e.supervisor_id else None,
                "kind": e.kind,
                "phone": e.phone,
                "roles": e.role_names,
            }
            for e in employees
        }


def problems(report: roster.ImportReport) -> set[tuple[int, str, str]]:
    return {(e.row, e.nip, e.reason) for e in report.errors}


# ---------------------------------------------------------------- a good file


async def test_csv_import_creates_people_units_supervisors_and_roles(app, tmp_path) -> None:
    boss, staff, contract = pns(serial="001"), pns(serial="002", gender="2"), pppk()
    path = write_csv(
        tmp_path / "roster.csv",
        [
            person(boss, name="Kepala", unit="BKPSDM", phone="0812-3000-0001", role="hr"),
            person(staff, supervisor_nip=boss, phone="+62 812 3000 0002", role="officer; hr"),
            person(contract, kind="PPPK", unit="Dinas Uji", supervisor_nip=staff),
        ],
    )
    report = await import_file(app, path)
    assert (report.created, report.updated, report.unchanged, report.errors) == (3, 0, 0, [])
    held = await people(app)
    assert held[boss] == {
        "name": "Kepala",
        "position": "Analis",
        "unit": "BKPSDM",
        "supervisor": None,
        "kind": "PNS",
        "phone": "6281230000001",
        "roles": {"hr"},
    }
    assert held[staff]["supervisor"] == boss and held[staff]["phone"] == "6281230000002"
    assert held[staff]["roles"] == {"hr", "officer"}
    assert held[contract]["supervisor"] == staff and held[contract]["kind"] == "PPPK"
    assert held[contract]["phone"] is None and held[contract]["roles"] == set()
    async with app.sessions() as session:
        units = set(await session.scalars(select(Unit.name)))
        audit = list(
            await session.scalars(select(AuditLog).where(AuditLog.action == "roster.import"))
        )
    assert units == {"BKPSDM", "Dinas Uji"}
    assert len(audit) == 1 and audit[0].actor == "test"
    assert audit[0].detail["created"] == 3 and audit[0].detail["rejected"] == 0


# ---------------------------------------------------------------- bad rows


async def test_malformed_nips_rejected_with_row_and_reason(app, tmp_path) -> None:
    boss = pns(serial="001")
    pppk_code_21 = pppk(code="21", serial="011")  # "21" is a code for PPPK, not a month
    spaced = "19850101 201001 1 004"
    rows = [
        person(boss),  # row 2
        person("19850101201001100"),  # 3: 17 digits
        person("19850101201001100X"),  # 4: not all digits
        person(pns(birth="19850230", serial="005")),  # 5: 30 February
        person(pns(birth="19851301", serial="006")),  # 6: birth month 13
        person(pns(tmt="201013", serial="007")),  # 7: PNS appointment month 13
        person(pns(tmt="201000", serial="008")),  # 8: PNS appointment month 00
        person(pns(gender="3", serial="009")),  # 9: gender digit 3
        person(pns(serial="000")),  # 10: serial 000
        person(pppk_code_21, kind="PPPK"),  # 11: fine
        person(pppk(code="21", serial="012"), kind="PNS"),  # 12: same digits as PNS: month 21
        person(pppk(gender="3", serial="013"), kind="PPPK"),  # 13: PPPK gender digit 3
        person(pppk(birth="19900101", year="2005", serial="014"), kind="PPPK"),  # 14: aged 15
        person(pppk(serial="000"), kind="PPPK"),  # 15: PPPK serial 000
        person(pns(birth="19300101", tmt="195001", serial="016")),  # 16: born before 1940
        person(spaced, supervisor_nip=boss),  # 17: spaces as printed on documents: fine
    ]
    report = await import_file(app, write_csv(tmp_path / "nips.csv", rows))
    assert problems(report) == {
        (3, "19850101201001100", "roster.error.nip_length"),
        (4, "19850101201001100X", "roster.error.nip_length"),
        (5, pns(birth="19850230", serial="005"), "roster.error.nip_birth"),
        (6, pns(birth="19851301", serial="006"), "roster.error.nip_birth"),
        (7, pns(tmt="201013", serial="007"), "roster.error.nip_appointment"),
        (8, pns(tmt="201000", serial="008"), "roster.error.nip_appointment"),
        (9, pns(gender="3", serial="009"), "roster.error.nip_gender"),
        (10, pns(serial="000"), "roster.error.nip_serial"),
        (12, pppk(code="21", serial="012"), "roster.error.nip_appointment"),
        (13, pppk(gender="3", serial="013"), "roster.error.nip_gender"),
        (14, pppk(year="2005", serial="014"), "roster.error.nip_appointment"),
        (15, pppk(serial="000"), "roster.error.nip_serial"),
        (16, pns(birth="19300101", tmt="195001", serial="016"), "roster.error.nip_birth"),
    }
    assert [e.row for e in report.errors] == sorted(e.row for e in report.errors)
    assert report.created == 3
    held = await people(app)
    assert set(held) == {boss, pppk_code_21, spaced.replace(" ", "")}
    assert held[spaced.replace(" ", "")]["supervisor"] == boss


async def test_other_bad_rows_rejected_with_row_reason_and_detail(app, tmp_path) -> None:
    boss = pns(serial="001")
    ghost = pns(birth="19700101", tmt="199501", serial="099")
    nips = [pns(serial=f"{n:03d}") for n in range(2, 11)]
    rows = [
        person(boss),  # 2
        person(nips[0], name=""),  # 3
        person(nips[1], unit=""),  # 4
        person(nips[2], kind="Honorer"),  # 5
        person(nips[3], supervisor_nip=nips[3]),  # 6
        person(nips[4], phone="12345"),  # 7
        person(nips[5], role="admin, hr"),  # 8
        person(nips[6], supervisor_nip=ghost),  # 9
        person(nips[7], supervisor_nip=boss, kind="pns", role="HR"),  # 10: case is forgiven
        {k: "" for k in COLUMNS},  # 11: a blank line is skipped, not an error
        person(nips[8], supervisor_nip=boss),  # 12
    ]
    report = await import_file(app, write_csv(tmp_path / "rows.csv", rows))
    assert {(e.row, e.nip, e.reason, tuple(e.params.items())) for e in report.errors} == {
        (3, nips[0], "roster.error.missing", (("column", "name"),)),
        (4, nips[1], "roster.error.missing", (("column", "unit"),)),
        (5, nips[2], "roster.error.kind", (("value", "Honorer"),)),
        (6, nips[3], "roster.error.self_supervisor", ()),
        (7, nips[4], "roster.error.phone", (("value", "12345"),)),
        (8, nips[5], "roster.error.role", (("value", "admin"),)),
        (9, nips[6], "roster.error.unknown_supervisor", (("nip", ghost),)),
    }
    held = await people(app)
    assert set(held) == {boss, nips[7], nips[8]}
    assert held[nips[7]]["kind"] == "PNS" and held[nips[7]]["roles"] == {"hr"}
    assert report.created == 3


async def test_duplicate_nip_rejects_every_copy_and_orphans_its_staff(app, tmp_path) -> None:
    twice, other, staff = pns(serial="001"), pns(serial="002"), pns(serial="003")
    rows = [
        person(twice, name="Satu"),  # 2
        person(other),  # 3
        person(twice, name="Dua"),  # 4
        person(staff, supervisor_nip=twice),  # 5
    ]
    report = await import_file(app, write_csv(tmp_path / "dup.csv", rows))
    assert {(e.row, e.nip, e.reason, tuple(e.params.items())) for e in report.errors} == {
        (2, twice, "roster.error.duplicate_nip", (("rows", "2, 4"),)),
        (4, twice, "roster.error.duplicate_nip", (("rows", "2, 4"),)),
        (5, staff, "roster.error.unknown_supervisor", (("nip", twice),)),
    }
    assert set(await people(app)) == {other}


async def test_duplicate_phone_within_the_file_rejects_both(app, tmp_path) -> None:
    a, b, c = pns(serial="001"), pns(serial="002"), pns(serial="003")
    rows = [
        person(a, phone="0812-3000-0099"),
        person(b, phone="+62 812 3000 0099"),  # the same number spelt differently
        person(c, phone="081230000100"),
    ]
    report = await import_file(app, write_csv(tmp_path / "phones.csv", rows))
    assert {(e.row, e.reason, e.params["nips"]) for e in report.errors} == {
        (2, "roster.error.duplicate_phone", b),
        (3, "roster.error.duplicate_phone", a),
    }
    held = await people(app)
    assert set(held) == {c} and held[c]["phone"] == "6281230000100"


async def test_duplicate_phone_against_an_employee_not_in_the_file(app, tmp_path) -> None:
    a, b, c = pns(serial="001"), pns(serial="002"), pns(serial="003")
    first = [person(a, phone="081230000001"), person(b, phone="081230000002")]
    assert not (await import_file(app, write_csv(tmp_path / "1.csv", first))).errors

    second = [person(b, phone="081230000002"), person(c, phone="0812 3000 0001")]
    report = await import_file(app, write_csv(tmp_path / "2.csv", second))
    assert {(e.row, e.nip, e.reason, e.params["nips"]) for e in report.errors} == {
        (3, c, "roster.error.duplicate_phone", a)
    }
    assert (report.created, report.unchanged, report.not_in_file) == (0, 1, 1)

    # A phone may move to someone else when its holder gets a new one in the same file.
    third = [person(a, phone="081230000003"), person(c, phone="081230000001")]
    report = await import_file(app, write_csv(tmp_path / "3.csv", third))
    assert not report.errors and (report.created, report.updated) == (1, 1)
    held = await people(app)
    assert held[a]["phone"] == "6281230000003" and held[c]["phone"] == "6281230000001"


@pytest.mark.parametrize("why", ["unknown_supervisor", "cycle"])
async def test_phone_of_a_rejected_row_stays_taken(app, tmp_path, why: str) -> None:
    """A row rejected late keeps its old phone in the database; nobody else may take it."""
    holder, boss, newcomer = pns(serial="001"), pns(serial="002"), pns(serial="003")
    first = [person(holder, phone="081230000001"), person(boss)]
    assert not (await import_file(app, write_csv(tmp_path / "1.csv", first))).errors

    ghost = pns(birth="19700101", tmt="199501", serial="099")
    if why == "unknown_supervisor":
        moved = [person(holder, phone="081230000002", supervisor_nip=ghost), person(boss)]
    else:
        moved = [
            person(holder, phone="081230000002", supervisor_nip=boss),
            person(boss, supervisor_nip=holder),
        ]
    rows = [*moved, person(newcomer, phone="081230000001")]
    report = await import_file(app, write_csv(tmp_path / "2.csv", rows))
    assert (2, holder, f"roster.error.{why}") in problems(report)
    assert (4, newcomer, "roster.error.duplicate_phone") in problems(report)
    held = await people(app)
    phones = [p["phone"] for p in held.values() if p["phone"]]
    assert len(phones) == len(set(phones)), held
    assert held[holder]["phone"] == "6281230000001"


async def test_supervisor_cycles_and_rings_rejected_with_their_chain(app, tmp_path) -> None:
    a, b, c, d, e, f, g, h = (pns(serial=f"{n:03d}") for n in range(1, 9))
    rows = [
        person(a, supervisor_nip=b),  # 2
        person(b, supervisor_nip=a),  # 3
        person(c, supervisor_nip=d),  # 4
        person(d, supervisor_nip=e),  # 5
        person(e, supervisor_nip=c),  # 6
        person(f, supervisor_nip=c),  # 7: hangs under the ring
        person(g),  # 8
        person(h, supervisor_nip=g),  # 9
    ]
    report = await import_file(app, write_csv(tmp_path / "cycles.csv", rows))
    assert problems(report) == {
        (2, a, "roster.error.cycle"),
        (3, b, "roster.error.cycle"),
        (4, c, "roster.error.cycle"),
        (5, d, "roster.error.cycle"),
        (6, e, "roster.error.cycle"),
        (7, f, "roster.error.unknown_supervisor"),
    }
    chains = {err.nip: err.params["chain"] for err in report.errors if "chain" in err.params}
    assert chains[a] == f"{a} → {b} → {a}"
    assert chains[c] == f"{c} → {d} → {e} → {c}"
    held = await people(app)
    assert set(held) == {g, h} and held[h]["supervisor"] == g


async def test_cycle_through_an_employee_already_in_the_database(app, tmp_path) -> None:
    boss, staff = pns(serial="001"), pns(serial="002")
    first = [person(boss), person(staff, supervisor_nip=boss)]
    assert not (await import_file(app, write_csv(tmp_path / "1.csv", first))).errors
    # The boss now reports to the staff member, who (in the database) reports to the boss.
    report = await import_file(
        app, write_csv(tmp_path / "2.csv", [person(boss, supervisor_nip=staff)])
    )
    assert problems(report) == {(2, boss, "roster.error.cycle")}
    assert (await people(app))[boss]["supervisor"] is None


async def test_rows_orphaned_by_a_rejected_supervisor_are_rejected_too(app, tmp_path) -> None:
    boss, staff, junior, other = (pns(serial=f"{n:03d}") for n in range(1, 5))
    rows = [
        person(boss, phone="not a phone"),  # 2: rejected
        person(staff, supervisor_nip=boss),  # 3: orphaned
        person(junior, supervisor_nip=staff),  # 4: orphaned in turn
        person(other),  # 5
    ]
    report = await import_file(app, write_csv(tmp_path / "orphans.csv", rows))
    assert problems(report) == {
        (2, boss, "roster.error.phone"),
        (3, staff, "roster.error.unknown_supervisor"),
        (4, junior, "roster.error.unknown_supervisor"),
    }
    assert set(await people(app)) == {other}


async def test_supervisor_may_be_an_employee_only_in_the_database(app, tmp_path) -> None:
    boss, staff = pns(serial="001"), pns(serial="002")
    await import_file(app, write_csv(tmp_path / "1.csv", [person(boss)]))
    report = await import_file(
        app, write_csv(tmp_path / "2.csv", [person(staff, supervisor_nip=boss)])
    )
    assert not report.errors and report.created == 1 and report.not_in_file == 1
    assert (await people(app))[staff]["supervisor"] == boss


# ---------------------------------------------------------------- re-import


async def test_reimport_is_idempotent(app) -> None:
    first = await import_file(app, DEMO_ROSTER)
    assert (first.created, first.updated, first.unchanged, first.errors) == (50, 0, 0, [])
    before = await exported(app)
    second = await import_file(app, DEMO_ROSTER)
    assert (second.created, second.updated, second.unchanged, second.errors) == (0, 0, 50, [])
    assert second.not_in_file == 0
    assert await exported(app) == before
    async with app.sessions() as session:
        details = list(
            await session.scalars(
                select(AuditLog.detail)
                .where(AuditLog.action == "roster.import")
                .order_by(AuditLog.id)
            )
        )
    assert [(d["created"], d["unchanged"]) for d in details] == [(50, 0), (0, 50)]


async def test_reimport_detects_each_kind_of_update(app, tmp_path) -> None:
    n = [pns(serial=f"{i:03d}") for i in range(1, 9)]
    base = [
        person(n[0]),
        person(n[1], supervisor_nip=n[0]),
        person(n[2], supervisor_nip=n[0]),
        person(n[3], phone="081230000004"),
        person(n[4]),
        person(n[5]),
        person(n[6]),
        person(n[7]),
    ]
    assert (await import_file(app, write_csv(tmp_path / "1.csv", base))).created == 8
    changed = [dict(r) for r in base]
    changed[1]["position"] = "Kepala Seksi"
    changed[2]["supervisor_nip"] = n[1]
    changed[3]["phone"] = "081230000044"
    changed[4]["unit"] = "Kecamatan Baru"
    changed[5]["name"] = "Nama Baru"
    changed[6]["role"] = "officer"
    report = await import_file(app, write_csv(tmp_path / "2.csv", changed))
    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 6, 2, [])
    held = await people(app)
    assert held[n[1]]["position"] == "Kepala Seksi"
    assert held[n[2]]["supervisor"] == n[1]
    assert held[n[3]]["phone"] == "6281230000044"
    assert held[n[4]]["unit"] == "Kecamatan Baru"
    assert held[n[5]]["name"] == "Nama Baru"
    assert held[n[6]]["roles"] == {"officer"}
    again = await import_file(app, write_csv(tmp_path / "3.csv", changed))
    assert (again.updated, again.unchanged) == (0, 8)


async def test_roles_in_the_file_are_granted_and_never_revoked_by_import(app, tmp_path) -> None:
    a, b = pns(serial="001"), pns(serial="002")
    await import_file(app, write_csv(tmp_path / "1.csv", [person(a, role="hr,officer"), person(b)]))
    held = await people(app)
    assert held[a]["roles"] == {"hr", "officer"} and held[b]["roles"] == set()
    report = await import_file(
        app, write_csv(tmp_path / "2.csv", [person(a), person(b, role=" Officer ; officer ")])
    )
    assert not report.errors
    held = await people(app)
    assert held[a]["roles"] == {"hr", "officer"}  # an empty cell takes nothing away
    assert held[b]["roles"] == {"officer"}


# ---------------------------------------------------------------- formats


async def test_xlsx_import_with_numeric_cells_and_spreadsheet_row_numbers(app, tmp_path) -> None:
    boss, staff, contract, typed = (pns(serial="001"), pns(serial="002"), pppk(), pns(serial="005"))
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["NIP", "Name", "Position", "Unit", "Supervisor_NIP", "Kind", "Phone", "Role"])
    sheet.append([boss, "Kepala", "Kepala Dinas", "Dinas Uji", None, "PNS", "081230000001", "hr"])
    # Excel drops the leading 0 of a phone typed as a number.
    sheet.append([staff, "Staf", "Analis", "Dinas Uji", boss, "PNS", 81230000002, None])
    # Row 4 stays empty (no cells at all, as Excel saves it).
    for column, value in enumerate(["123", "Salah", "", "Dinas Uji", "", "PNS"], start=1):
        sheet.cell(row=5, column=column, value=value)
    for column, value in enumerate([contract, "Kontrak", "Guru", "Dinas Uji", staff, "pppk"], 1):
        sheet.cell(row=6, column=column, value=value)
    # An 18-digit NIP typed as a number: a spreadsheet keeps only ~15 significant digits.
    typed_row: list[int | str] = [int(typed), "Angka", "", "Dinas Uji", "", "PNS"]
    for column, cell in enumerate(typed_row, start=1):
        sheet.cell(row=7, column=column, value=cell)
    path = tmp_path / "roster.xlsx"
    book.save(path)

    report = await import_file(app, path)
    assert {(e.row, e.reason) for e in report.errors} == {
        (5, "roster.error.nip_length"),
        (7, "roster.error.nip_length"),
    }
    assert report.created == 3
    held = await people(app)
    assert set(held) == {boss, staff, contract}  # never a NIP with invented digits
    assert held[boss]["roles"] == {"hr"} and held[boss]["phone"] == "6281230000001"
    assert held[staff]["supervisor"] == boss and held[staff]["phone"] == "6281230000002"
    assert held[contract]["kind"] == "PPPK" and held[contract]["supervisor"] == staff


def test_csv_with_bom_semicolons_and_capitalised_header_is_read(tmp_path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "\ufeffNIP;Name;Unit;Kind;Phone\n"
        f'{pns()};"Siregar; Joko";Dinas Uji;PNS;0812 3000 0001\n'
        "\n"
        f"{pppk()};Ani;Dinas Uji;PPPK;\n".encode()
    )
    assert roster.read_rows(path) == [
        (
            2,
            {
                "nip": pns(),
                "name": "Siregar; Joko",
                "unit": "Dinas Uji",
                "kind": "PNS",
                "phone": "0812 3000 0001",
            },
        ),
        (4, {"nip": pppk(), "name": "Ani", "unit": "Dinas Uji", "kind": "PPPK", "phone": ""}),
    ]


def test_csv_saved_by_excel_in_windows_1252_is_read(tmp_path) -> None:
    path = tmp_path / "ansi.csv"
    path.write_bytes(f"nip,name,unit,kind\n{pns()},Nur’aini,Dinas Uji,PNS\n".encode("cp1252"))
    assert roster.read_rows(path) == [
        (2, {"nip": pns(), "name": "Nur’aini", "unit": "Dinas Uji", "kind": "PNS"})
    ]


def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str, dict[str, str]]]:
    """name -> (file, expected reason, expected params)."""
    missing = tmp_path / "missing.csv"
    missing.write_text(f"nip,name\n{pns()},Ani\n", encoding="utf-8")
    single = tmp_path / "single.csv"
    single.write_text(f"nip\n{pns()}\n", encoding="utf-8")
    xlsx_missing = write_xlsx(
        tmp_path / "missing.xlsx", [[pns(), "Ani", "PNS"]], ["nip", "name", "kind"]
    )
    pdf = tmp_path / "roster.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_text("this is not a spreadsheet", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    return {
        "missing": (missing, "roster.file.columns", {"columns": "unit, kind"}),
        "single": (single, "roster.file.columns", {"columns": "name, unit, kind"}),
        "xlsx_missing": (xlsx_missing, "roster.file.columns", {"columns": "unit"}),
        "pdf": (pdf, "roster.file.format", {"name": "roster.pdf"}),
        "corrupt": (corrupt, "roster.file.format", {"name": "corrupt.xlsx"}),
        "empty": (empty, "roster.file.empty", {}),
    }


def test_unreadable_files_raise_one_roster_file_error(tmp_path) -> None:
    for name, (path, reason, params) in _bad_files(tmp_path).items():
        with pytest.raises(roster.RosterFileError) as caught:
            roster.read_rows(path)
        assert (caught.value.reason, caught.value.params) == (reason, params), name


# ---------------------------------------------------------------- export / import round trip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_export_then_import_round_trip(app, tmp_path, suffix: str) -> None:
    await import_file(app, DEMO_ROSTER)
    extra = write_csv(
        tmp_path / "extra.csv",
        [person(pppk(), kind="PPPK", position="", phone="", role="hr,officer")],
    )
    await import_file(app, extra)
    original = await exported(app)
    assert len(original) == 51 and any(row[7] == "hr,officer" for row in original)

    path = tmp_path / f"export{suffix}"
    roster.write_rows(path, original)
    again = await import_file(app, path)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 51, [])
    assert await exported(app) == original

    # Into an empty roster (a second agency): the file alone rebuilds the same roster.
    async with app.sessions() as session, session.begin():
        session.add(Agency(code="kab-uji", name="Kabupaten Uji", timezone="Asia/Makassar"))
    fresh = await import_file(app, path, agency_code="kab-uji")
    assert (fresh.created, fresh.errors) == (51, [])
    assert await exported(app, "kab-uji") == original


# ---------------------------------------------------------------- through the real CLI


async def test_cli_import_exits_3_with_rejected_rows_and_0_when_all_good(
    app, cli, tmp_path
) -> None:
    boss, staff = pns(serial="001"), pns(serial="002")
    rows = [
        person(boss, name="Kepala"),
        person("12345", name="Salah"),
        person(staff, supervisor_nip=boss),
        person(pns(serial="003"), supervisor_nip=pns(serial="099")),
    ]
    result = await cli("roster", "import", str(write_csv(tmp_path / "mixed.csv", rows)))
    assert result.code == 3, result
    lines = result.out.splitlines()
    assert "Baris 3 (NIP 12345): NIP harus 18 angka" in lines
    assert (
        f"Baris 5 (NIP {pns(serial='003')}): atasan {pns(serial='099')} tidak ada di data" in lines
    )
    assert "Impor selesai: 2 baru, 0 diperbarui, 0 tetap, 2 ditolak." in lines
    assert set(await people(app)) == {boss, staff}

    good = write_csv(
        tmp_path / "good.csv",
        [person(boss, name="Kepala Baru"), person(staff, supervisor_nip=boss)],
    )
    result = await cli("roster", "import", str(good))
    assert result.code == 0, result
    assert "Impor selesai: 0 baru, 1 diperbarui, 1 tetap, 0 ditolak." in result.out.splitlines()
    async with app.sessions() as session:
        actors = set(
            await session.scalars(select(AuditLog.actor).where(AuditLog.action == "roster.import"))
        )
    assert actors and all(a.startswith("cli") for a in actors)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_cli_export_then_import_changes_nothing(app, cli, tmp_path, suffix: str) -> None:
    assert (await cli("roster", "import", str(DEMO_ROSTER))).code == 0
    path = tmp_path / f"staff{suffix}"
    result = await cli("roster", "export", str(path))
    assert result.code == 0 and "50 pegawai ditulis" in result.out
    before = await exported(app)
    result = await cli("roster", "import", str(path))
    assert result.code == 0, result
    assert "Impor selesai: 0 baru, 0 diperbarui, 50 tetap, 0 ditolak." in result.out
    assert await exported(app) == before


async def test_cli_unreadable_file_is_one_line_and_nonzero(app, cli, tmp_path) -> None:
    files = {name: path for name, (path, _, _) in _bad_files(tmp_path).items()}
    files["absent"] = tmp_path / "absent.csv"
    expected = {
        "missing": "Kolom wajib tidak ada: unit, kind",
        "single": "Kolom wajib tidak ada: name, unit, kind",
        "xlsx_missing": "Kolom wajib tidak ada: unit",
        "pdf": "Format berkas roster.pdf tidak didukung",
        "corrupt": "Format berkas corrupt.xlsx tidak didukung",
        "empty": "Berkas kosong",
        "absent": "absent.csv",
    }
    for name, path in files.items():
        result = await cli("roster", "import", str(path))
        assert result.code not in (0, 3), (name, result)
        assert result.out == "", (name, result)
        assert len(result.err.strip().splitlines()) == 1, (name, result)
        assert result.err.startswith("abdi: galat: ") and expected[name] in result.err, (
            name,
            result,
        )
    assert await people(app) == {}


async def test_cli_export_refuses_what_import_could_not_read_back(app, cli, tmp_path) -> None:
    assert (await cli("roster", "import", str(DEMO_ROSTER))).code == 0
    cases = {
        "roster.pdf": "Format berkas roster.pdf tidak didukung",
        "no-such-dir/roster.csv": "no-such-dir",
    }
    for name, fragment in cases.items():
        result = await cli("roster", "export", str(tmp_path / name))
        assert result.code != 0 and result.out == "", (name, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("abdi: galat: "), (name, result)
        assert fragment in lines[0], (name, result)
        assert not (tmp_path / name).exists()
    with pytest.raises(roster.RosterFileError):
        roster.write_rows(tmp_path / "roster.json", [])


async def test_cli_unknown_agency_is_one_line(app, cli, tmp_path) -> None:
    good = write_csv(tmp_path / "good.csv", [person(pns())])
    for argv in (
        ["roster", "import", str(good), "--agency", "tidak-ada"],
        ["roster", "export", str(tmp_path / "out.csv"), "--agency", "tidak-ada"],
    ):
        result = await cli(*argv)
        assert result.code != 0 and result.out == "", result
        assert len(result.err.strip().splitlines()) == 1 and "tidak-ada" in result.err, result
    assert await people(app) == {}
    assert not (tmp_path / "out.csv").exists()


def test_cli_subprocess_import_has_no_traceback(tmp_path) -> None:
    """The installed `abdi` entry point, on a fresh SQLite file: exit codes and one-line errors."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'abdi.db'}"
    abdi = Path(sys.executable).with_name("abdi")
    files = _bad_files(tmp_path)
    mixed = write_csv(tmp_path / "mixed.csv", [person(pns()), person(pns(gender="3"))])
    cases = [(files["single"][0], None), (files["corrupt"][0], None), (mixed, 3)]

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(abdi), "roster", "import", str(path)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    # The mixed file runs first (alone) so that it creates the SQLite file without a race.
    results = [run(mixed)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results += list(pool.map(run, [p for p, _ in cases[:2]]))
    for (path, want), done in zip([cases[2], *cases[:2]], results, strict=True):
        assert "Traceback" not in done.stderr, done.stderr
        if want == 3:
            assert done.returncode == 3, (path.name, done)
            assert "digit jenis kelamin di NIP harus 1 atau 2" in done.stdout
        else:
            assert done.returncode not in (0, 3), (path.name, done)
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
