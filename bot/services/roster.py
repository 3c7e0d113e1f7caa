"""The staff roster: read CSV/XLSX, validate every row, upsert the good ones in one transaction."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services import audit
from bot.services.identity import ROLES
from bot.services.people import nip_problem, normalize_phone
from storage.models import Agency, Employee, EmployeeRole, Unit

COLUMNS = ("nip", "name", "position", "unit", "supervisor_nip", "kind", "phone", "role")
REQUIRED = ("nip", "name", "unit", "kind")
KINDS = ("PNS", "PPPK")


@dataclass(slots=True)
class RosterRow:
    row: int
    nip: str
    name: str
    position: str
    unit: str
    supervisor_nip: str
    kind: str
    phone: str | None
    roles: tuple[str, ...]


@dataclass(slots=True)
class RowError:
    row: int
    nip: str
    reason: str  # a message id in locales/
    params: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    not_in_file: int = 0
    errors: list[RowError] = field(default_factory=list)


class RosterFileError(ValueError):
    """The file as a whole cannot be read (format, missing columns)."""

    def __init__(self, reason: str, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


def _cell(value: object) -> str:
    if value is None:
        return ""
    # Spreadsheets hold numbers as doubles: past 2**53 (an 18-digit NIP typed as a number) the
    # last digits are already lost, so keep the float's text and let validation reject it.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return str(value).strip()


def _read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # what Excel's plain "CSV" writes on Windows
            text = data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise RosterFileError("roster.file.format", name=path.name) from exc
    # The header names the columns and holds no quoted text: its most frequent separator wins.
    # (csv.Sniffer guesses from the data rows and fails on ordinary files.)
    header = text.lstrip().split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count) if any(c in header for c in ",;\t") else ","
    return [[c.strip() for c in r] for r in csv.reader(io.StringIO(text), delimiter=delimiter)]


def read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(row number as a spreadsheet shows it, lower-cased column -> text) for each data row."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        # openpyxl (with Pillow) is about 5 MB of every process that imports this module:
        # loaded only when a workbook is read or written.
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except OSError:
            raise
        except Exception as exc:  # not a zip, not a workbook: openpyxl raises several types
            raise RosterFileError("roster.file.format", name=path.name) from exc
        try:
            sheet = book.active
            if sheet is None:
                raise RosterFileError("roster.file.empty")
            raw = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    elif suffix in (".csv", ".txt"):
        raw = _read_csv(path)
    else:
        raise RosterFileError("roster.file.format", name=path.name)
    if not raw:
        raise RosterFileError("roster.file.empty")
    header = [h.strip().lower() for h in raw[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterFileError("roster.file.columns", columns=", ".join(missing))
    rows = []
    for number, values in enumerate(raw[1:], start=2):
        if not any(values):
            continue
        rows.append(
            (number, {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)})
        )
    return rows


def _parse(number: int, data: dict[str, str]) -> RosterRow | RowError:
    nip = data.get("nip", "").replace(" ", "")
    kind = data.get("kind", "").upper()
    for column in REQUIRED:
        if not data.get(column):
            return RowError(number, nip, "roster.error.missing", {"column": column})
    if kind not in KINDS:
        return RowError(number, nip, "roster.error.kind", {"value": data.get("kind", "")})
    problem = nip_problem(nip, kind)
    if problem:
        return RowError(number, nip, problem)
    supervisor = data.get("supervisor_nip", "").replace(" ", "")
    if supervisor == nip:
        return RowError(number, nip, "roster.error.self_supervisor")
    phone = None
    if data.get("phone"):
        phone = normalize_phone(data["phone"])
        if phone is None:
            return RowError(number, nip, "roster.error.phone", {"value": data["phone"]})
    roles = tuple(
        sorted(
            {
                r.strip().lower()
                for r in data.get("role", "").replace(";", ",").split(",")
                if r.strip()
            }
        )
    )
    unknown_roles = [r for r in roles if r not in ROLES]
    if unknown_roles:
        return RowError(number, nip, "roster.error.role", {"value": ", ".join(unknown_roles)})
    return RosterRow(
        number,
        nip,
        data["name"],
        data.get("position", ""),
        data["unit"],
        supervisor,
        kind,
        phone,
        roles,
    )


@dataclass(slots=True)
class _Existing:
    phone: str | None
    supervisor_nip: str


def validate(
    raw_rows: list[tuple[int, dict[str, str]]], existing: dict[str, _Existing]
) -> tuple[list[RosterRow], list[RowError]]:
    """Split rows into importable ones and errors, against what the database already holds."""
    errors: list[RowError] = []
    parsed: list[RosterRow] = []
    for number, data in raw_rows:
        result = _parse(number, data)
        if isinstance(result, RowError):
            errors.append(result)
        else:
            parsed.append(result)

    # A NIP twice in one file is ambiguous: reject every copy rather than guess which is right.
    rows_by_nip: dict[str, list[RosterRow]] = defaultdict(list)
    for row in parsed:
        rows_by_nip[row.nip].append(row)
    good: dict[str, RosterRow] = {}
    for nip, rows in rows_by_nip.items():
        if len(rows) == 1:
            good[nip] = rows[0]
            continue
        numbers = ", ".join(str(r.row) for r in rows)
        errors += [
            RowError(r.row, nip, "roster.error.duplicate_nip", {"rows": numbers}) for r in rows
        ]

    # Phones must stay unique across the final roster (good rows plus every employee who keeps
    # their stored data), supervisors must exist and chains must end. Rejecting a row can orphan
    # others or leave its old phone in place, so repeat until nothing changes.
    while True:
        owners: dict[str, set[str]] = defaultdict(set)
        for nip, held in existing.items():
            if nip not in good and held.phone:
                owners[held.phone].add(nip)
        for row in good.values():
            if row.phone:
                owners[row.phone].add(row.nip)
        clashes = [(n, r.phone) for n, r in good.items() if r.phone and len(owners[r.phone]) > 1]
        for nip, phone in clashes:
            row = good.pop(nip)
            others = ", ".join(sorted(owners[phone] - {nip}))
            errors.append(RowError(row.row, nip, "roster.error.duplicate_phone", {"nips": others}))
        supervisor_of = {nip: held.supervisor_nip for nip, held in existing.items()}
        supervisor_of.update({nip: row.supervisor_nip for nip, row in good.items()})
        rejected = False
        for nip, row in list(good.items()):
            if (
                row.supervisor_nip
                and row.supervisor_nip not in good
                and row.supervisor_nip not in existing
            ):
                errors.append(
                    RowError(
                        row.row, nip, "roster.error.unknown_supervisor", {"nip": row.supervisor_nip}
                    )
                )
                del good[nip]
                rejected = True
        if rejected or clashes:
            continue
        for nip in list(good):
            chain, current = [nip], supervisor_of.get(nip, "")
            while current and current not in chain:
                chain.append(current)
                current = supervisor_of.get(current, "")
            if current == nip:
                errors.append(
                    RowError(
                        good[nip].row,
                        nip,
                        "roster.error.cycle",
                        {"chain": " → ".join([*chain, nip])},
                    )
                )
                del good[nip]
                rejected = True
        if not rejected:
            break
    errors.sort(key=lambda e: e.row)
    return sorted(good.values(), key=lambda r: r.row), errors


@dataclass(slots=True)
class ImportPlan:
    """What an import would do, worked out without writing: the preview, and the import's plan."""

    agency: Agency
    good: list[RosterRow]
    report: ImportReport
    current: dict[str, Employee]  # NIP -> the agency's employees before the import
    units: dict[str, Unit]  # name -> the agency's units before the import
    created: set[str]  # NIPs the import adds
    unchanged: set[str]  # NIPs whose row says what the database already holds


async def plan_import(
    session: AsyncSession, agency: Agency, raw_rows: list[tuple[int, dict[str, str]]]
) -> ImportPlan:
    """Validate the rows against the database and count what importing them would change."""
    current = {
        e.nip: e
        for e in await session.scalars(select(Employee).where(Employee.agency_id == agency.id))
    }
    supervisor_nips = {e.id: e.nip for e in current.values()}
    existing = {
        nip: _Existing(e.phone, supervisor_nips.get(e.supervisor_id or -1, ""))
        for nip, e in current.items()
    }
    good, errors = validate(raw_rows, existing)
    report = ImportReport(errors=errors)
    units = {
        u.name: u for u in await session.scalars(select(Unit).where(Unit.agency_id == agency.id))
    }
    created: set[str] = set()
    unchanged: set[str] = set()
    for row in good:
        employee = current.get(row.nip)
        if employee is None:
            created.add(row.nip)
            report.created += 1
            continue
        before = (
            employee.name,
            employee.position,
            employee.unit.name,
            employee.kind,
            employee.phone,
            existing[row.nip].supervisor_nip,
        )
        after = (row.name, row.position, row.unit, row.kind, row.phone, row.supervisor_nip)
        if before != after or set(row.roles) - employee.role_names:
            report.updated += 1
        else:
            report.unchanged += 1
            unchanged.add(row.nip)
    report.not_in_file = len(set(current) - {r.nip for r in good} - {e.nip for e in errors})
    return ImportPlan(agency, good, report, current, units, created, unchanged)


async def import_roster(
    session: AsyncSession,
    agency: Agency,
    raw_rows: list[tuple[int, dict[str, str]]],
    actor: str,
    **detail: str,
) -> ImportReport:
    """Idempotent upsert of the good rows, inside the caller's transaction; roles are only added.

    `detail` goes into the audit row (e.g. where the import came from)."""
    plan = await plan_import(session, agency, raw_rows)
    await apply_plan(session, plan)
    report = plan.report
    audit.record(
        session,
        actor=actor,
        action="roster.import",
        agency_id=agency.id,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=len(report.errors),
        **detail,
    )
    await session.flush()
    return report


async def apply_plan(session: AsyncSession, plan: ImportPlan) -> None:
    agency, current, units = plan.agency, dict(plan.current), dict(plan.units)
    # An unchanged row has nothing to write: a re-import of the same file costs no writes.
    changing = [row for row in plan.good if row.nip not in plan.unchanged]
    for name in {r.unit for r in changing} - units.keys():
        units[name] = Unit(agency_id=agency.id, name=name)
        session.add(units[name])
    await session.flush()
    for row in changing:
        employee = current.get(row.nip)
        if employee is None:
            employee = Employee(agency_id=agency.id, nip=row.nip)
            session.add(employee)
            current[row.nip] = employee
        employee.name, employee.position, employee.kind = row.name, row.position, row.kind
        employee.unit_id, employee.phone = units[row.unit].id, row.phone
    await session.flush()
    # Roles held now, in one query (one per row made a 100,000-row import take minutes).
    held: dict[int, set[str]] = defaultdict(set)
    for employee_id, role in await session.execute(
        select(EmployeeRole.employee_id, EmployeeRole.role)
        .join(Employee, Employee.id == EmployeeRole.employee_id)
        .where(Employee.agency_id == agency.id)
    ):
        held[employee_id].add(role)
    for row in changing:
        employee = current[row.nip]
        employee.supervisor_id = current[row.supervisor_nip].id if row.supervisor_nip else None
        for role in set(row.roles) - held[employee.id]:
            session.add(EmployeeRole(employee_id=employee.id, role=role))


async def export_batches(
    session: AsyncSession, agency: Agency, size: int = 1000
) -> AsyncIterator[list[list[str]]]:
    """The agency's employees in import columns, by NIP, a batch at a time (keyset, indexed),
    so a roster of any size streams out without being held in memory."""
    boss = aliased(Employee)
    after = ""
    while True:
        rows = (
            await session.execute(
                select(
                    Employee.id,
                    Employee.nip,
                    Employee.name,
                    Employee.position,
                    Unit.name,
                    boss.nip,
                    Employee.kind,
                    Employee.phone,
                )
                .join(Unit, Unit.id == Employee.unit_id)
                .outerjoin(boss, boss.id == Employee.supervisor_id)
                .where(Employee.agency_id == agency.id, Employee.nip > after)
                .order_by(Employee.nip)
                .limit(size)
            )
        ).all()
        if not rows:
            return
        roles: dict[int, list[str]] = defaultdict(list)
        for employee_id, role in await session.execute(
            select(EmployeeRole.employee_id, EmployeeRole.role).where(
                EmployeeRole.employee_id.in_([r[0] for r in rows])
            )
        ):
            roles[employee_id].append(role)
        yield [
            [
                nip,
                name,
                position,
                unit,
                boss_nip or "",
                kind,
                phone or "",
                ",".join(sorted(roles[i])),
            ]
            for i, nip, name, position, unit, boss_nip, kind, phone in rows
        ]
        after = rows[-1][1]


async def export_rows(session: AsyncSession, agency: Agency) -> list[list[str]]:
    return [row async for batch in export_batches(session, agency) for row in batch]


def write_rows(path: Path, rows: list[list[str]]) -> None:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv", ".txt"):  # what read_rows can read back
        raise RosterFileError("roster.file.format", name=path.name)
    if suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(list(COLUMNS))
        for row in rows:
            sheet.append(row)
        book.save(path)
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
