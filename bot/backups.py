"""Backups of the configured database and their restore.

PostgreSQL goes through its own tools (pg_dump -Fc, pg_restore), given a libpq URL without the
password, which travels in PGPASSWORD: a command line is readable by every user of the machine.
A SQLite file is copied with SQLite's online backup API, which reads a consistent snapshot while
the bot keeps writing (a plain file copy of a WAL database can be torn).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot.app import short
from storage import db

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore refused: `key` is the message id, `params` its values."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class Target:
    """The configured database as the backup tools address it."""

    url: str  # the SQLAlchemy URL, for our own connections
    sqlite: Path | None = None
    libpq: str = ""  # PostgreSQL: the URL pg_dump reads, without password
    env: dict[str, str] = field(default_factory=dict)  # PostgreSQL: PGPASSWORD, PGSSLMODE


def target(database_url: str) -> Target:
    try:
        parsed = make_url(database_url)
    except ArgumentError as exc:
        raise BackupError("ops.backup.bad_url") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise BackupError("ops.backup.memory")
        return Target(database_url, sqlite=Path(parsed.database))
    if backend != "postgresql":
        raise BackupError("ops.backup.unsupported", backend=backend)
    env = {}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    ssl = parsed.query.get("ssl") or parsed.query.get("sslmode")  # asyncpg's names are libpq's
    if ssl:
        env["PGSSLMODE"] = ssl if isinstance(ssl, str) else ssl[0]
    plain = parsed.set(drivername="postgresql", password=None, query={})
    return Target(database_url, libpq=plain.render_as_string(hide_password=False), env=env)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError("ops.backup.no_tool", tool=name)
    return found


async def _run(target: Target, *argv: str) -> None:
    """A PostgreSQL client tool; its last complaint becomes the error."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env={**os.environ, **target.env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode:
        lines = err.decode(errors="replace").strip().splitlines() or [str(process.returncode)]
        raise BackupError("ops.backup.tool_failed", tool=Path(argv[0]).name, detail=lines[-1][:300])


def _sqlite_copy(source: Path, destination: Path) -> None:
    try:
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(destination)) as dst,
        ):
            src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise BackupError("ops.backup.sqlite_failed", detail=str(exc)) from exc


def _new_file(target: Target, folder: Path) -> Path:
    """The path of a new backup in `folder`, named for the moment it is taken (UTC)."""
    if target.sqlite is not None and not target.sqlite.is_file():
        raise BackupError("ops.backup.no_file", file=str(target.sqlite))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError("ops.backup.folder", folder=str(folder), detail=exc.strerror) from exc
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%SZ")
    return folder.resolve() / f"abdi-{stamp}.{'db' if target.sqlite else 'dump'}"


async def backup(target: Target, folder: Path) -> Path:
    """A new backup file in `folder`; its path."""
    path = await asyncio.to_thread(_new_file, target, folder)
    # Written aside and renamed when complete: a half-written file never looks like a backup.
    partial = path.with_name(path.name + ".partial")
    try:
        if target.sqlite is not None:
            await asyncio.to_thread(_sqlite_copy, target.sqlite, partial)
        else:
            await _run(target, _tool("pg_dump"), "-Fc", "-f", str(partial), "-d", target.libpq)
        await asyncio.to_thread(partial.rename, path)
    finally:
        await asyncio.to_thread(partial.unlink, missing_ok=True)
    return path


def check_file(target: Target, file: Path) -> None:
    """Refuse a file that cannot be read or is not a backup of this kind of database."""
    try:
        with file.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError("ops.restore.unreadable", file=str(file), detail=exc.strerror) from exc
    magic = SQLITE_MAGIC if target.sqlite else PG_DUMP_MAGIC
    if not head.startswith(magic):
        kind = "SQLite" if target.sqlite else "pg_dump -Fc"
        raise BackupError("ops.restore.wrong_kind", file=str(file), kind=kind)


def _sqlite_has_data(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT count(*) FROM sqlite_master WHERE type='table'").fetchone()
    except sqlite3.DatabaseError:
        return True  # something that is not a database: still the operator's file to keep
    return bool(row and row[0])


async def has_data(target: Target) -> bool:
    """Whether the target already holds tables (a restore replaces them)."""
    if target.sqlite is not None:
        return await asyncio.to_thread(_sqlite_has_data, target.sqlite)
    engine = db.create_engine(target.url, pool_size=1)
    try:
        async with engine.connect() as conn:
            count = await conn.scalar(
                text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            )
    except (DBAPIError, OSError, ConnectionError) as exc:
        raise BackupError("ops.backup.db_down", detail=short(exc)) from exc
    finally:
        await engine.dispose()
    return bool(count)


async def restore(target: Target, file: Path) -> None:
    """Replace the target's contents with the backup's."""
    check_file(target, file)
    if target.sqlite is not None:
        await asyncio.to_thread(target.sqlite.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(_sqlite_copy, file, target.sqlite)
        return
    await _run(
        target,
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",  # a failed restore leaves the database as it was
        "-d",
        target.libpq,
        str(file),
    )
