"""`abdi backup` and `abdi restore` as an operator runs them: a populated database (the demo office
and a few more rows) backed up, restored into a fresh database, and compared table by table;
refusals that protect a database with data; clear errors for what cannot work."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select

from storage import db
from storage.models import AuditLog, Base, Employee
from tests.conftest import PG_ADMIN, Result, _async_url
from tests.processes.test_cli import run_abdi

STAFF_NIP = "199803132020012001"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def snapshot(url: str) -> dict[str, object]:
    """Every table's row count, and a few rows' content."""
    engine = db.create_engine(url)
    try:
        async with db.session_factory(engine)() as session:
            counts: dict[str, object] = {
                table.name: await session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables
            }
            counts["employees"] = (
                await session.execute(select(Employee.nip, Employee.name).order_by(Employee.nip))
            ).all()
            counts["audit"] = (
                await session.execute(
                    select(AuditLog.action, AuditLog.detail).order_by(AuditLog.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return counts


async def add_note(url: str) -> None:
    """A row with text a round trip may mangle: non-ASCII, quotes, JSON."""
    engine = db.create_engine(url)
    async with db.session_factory(engine)() as session, session.begin():
        session.add(AuditLog(actor="tes", action="note", detail={"catatan": "Bu Ani — 'ñ' ✓"}))
    await engine.dispose()


@pytest.fixture
async def fresh_url(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind, never migrated."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'abdi.db'}"
        return
    name = f"abdi_r_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    yield _async_url(PG_ADMIN, name)
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


Cli = Callable[..., Awaitable[Result]]


async def populated(cli: Cli, url: str) -> None:
    assert (await cli("demo", "load")).code == 0
    assert (await cli("link-code", STAFF_NIP)).code == 0
    await add_note(url)


async def backup(cli: Cli, folder: Path) -> Path:
    result = await cli("backup", "--to", str(folder))
    assert result.code == 0, result
    found = re.search(r"Cadangan tersimpan: (\S+)", result.out)
    assert found, result.out
    path = Path(found.group(1))
    assert files(folder) == [path]  # nothing half-written left beside it
    return path


def files(folder: Path) -> list[Path]:
    return sorted(path.resolve() for path in folder.iterdir())


async def test_backup_then_restore_into_a_fresh_database_keeps_every_row(
    cli: Cli, database_url: str, fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await populated(cli, database_url)
    before = await snapshot(database_url)
    path = await backup(cli, tmp_path / "backups")

    monkeypatch.setenv("DATABASE_URL", fresh_url)
    result = await cli("restore", str(path))
    assert result.code == 0, result
    assert "dipulihkan" in result.out and "versi terbaru" in result.out

    after = await snapshot(fresh_url)
    restore_audit = after.pop("audit")
    assert restore_audit[:-1] == before.pop("audit")  # type: ignore[index]
    assert restore_audit[-1] == ("database.restore", {"file": path.name})  # type: ignore[index]
    assert after.pop("audit_log") == before.pop("audit_log") + 1  # type: ignore[operator]
    assert after == before
    assert len(before["employees"]) == 50  # type: ignore[arg-type]


async def test_backup_is_audit_logged(cli: Cli, database_url: str, tmp_path: Path) -> None:
    path = await backup(cli, tmp_path / "backups")
    actions = (await snapshot(database_url))["audit"]
    assert ("database.backup", {"file": path.name}) in actions  # type: ignore[operator]


async def test_restore_over_data_asks_first_and_yes_overwrites(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    await populated(cli, database_url)
    path = await backup(cli, tmp_path / "backups")
    await add_note(database_url)  # written after the backup: a restore loses it
    with_note = await snapshot(database_url)

    refused = await cli("restore", str(path))  # no terminal to answer "ya": a no
    assert refused.code == 1, refused
    assert "MENIMPA" in refused.out and "dibatalkan" in refused.err
    assert await snapshot(database_url) == with_note

    result = await cli("restore", str(path), "--yes")
    assert result.code == 0, result
    notes = [a for a in (await snapshot(database_url))["audit"] if a[0] == "note"]  # type: ignore[attr-defined]
    assert len(notes) == 1


@SQLITE_ONLY
async def test_restore_refuses_what_is_not_a_backup(cli: Cli, tmp_path: Path) -> None:
    missing = await cli("restore", str(tmp_path / "nope.db"))
    assert missing.code == 1 and "tidak dapat dibaca" in missing.err, missing
    text = tmp_path / "notes.txt"
    text.write_text("bukan basis data")
    wrong = await cli("restore", str(text), "--yes")
    assert wrong.code == 1 and "bukan cadangan SQLite" in wrong.err, wrong
    assert wrong.err.count("\n") == 1  # one line, no traceback


@POSTGRES_ONLY
async def test_restore_of_a_sqlite_file_into_postgresql_is_refused(
    cli: Cli, tmp_path: Path, sqlite_template: Path
) -> None:
    result = await cli("restore", str(sqlite_template), "--yes")
    assert result.code == 1 and "bukan cadangan pg_dump -Fc" in result.err, result


@POSTGRES_ONLY
async def test_backup_without_pg_dump_says_what_to_install(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = await cli("backup", "--to", str(tmp_path / "b"))
    assert result.code == 1 and "pg_dump tidak ditemukan" in result.err, result
    assert "postgresql-client" in result.err


@POSTGRES_ONLY
async def test_backup_of_an_unreachable_database_never_shows_the_password(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://abdi:hunter2@127.0.0.1:1/abdi")
    result = await cli("backup", "--to", str(tmp_path))
    assert result.code == 1 and "pg_dump gagal" in result.err, result
    assert "hunter2" not in result.err + result.out
    assert files(tmp_path) == []


@SQLITE_ONLY
async def test_an_operator_answering_ya_at_the_terminal_restores(
    cli: Cli, database_url: str, tmp_path: Path
) -> None:
    """The restore in its own process, the question answered on its standard input (the data
    and the backup are made in-process: a process start-up costs seconds)."""
    await populated(cli, database_url)
    path = await backup(cli, tmp_path / "backups")
    done = run_abdi(tmp_path, "restore", str(path), stdin="ya\n", DATABASE_URL=database_url)
    assert done.returncode == 0, done.stderr
    assert "MENIMPA" in done.stdout and "Ketik 'ya'" in done.stdout
    assert "dipulihkan" in done.stdout
