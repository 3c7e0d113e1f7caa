"""deploy/entrypoint.sh, the container's entrypoint, run for real with a stand-in `abdi` on PATH
that writes down each call: what it runs, in which order, and what happens when the database
never answers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parents[2] / "deploy" / "entrypoint.sh"


@pytest.fixture
def fake_abdi(tmp_path: Path) -> Path:
    """A folder with an `abdi` that appends its arguments and its pid to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "abdi"
    script.write_text(f'#!/bin/sh\necho "$$ $*" >> {tmp_path / "calls.log"}\n')
    script.chmod(0o755)
    # The entrypoint's probe is python3: the one running the tests.
    (bin_dir / "python3").symlink_to(sys.executable)
    return bin_dir


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port that accepts connections, standing for a database that is up."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # released on close: nothing listens there


def run(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ABDI_DB_WAIT_SECONDS": "0",
        "SECRETS_DIR": str(bin_dir / "no-secrets"),
        **env,
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def calls(bin_dir: Path) -> list[list[str]]:
    log = bin_dir.parent / "calls.log"
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


def pg_url(port: int) -> str:
    return f"postgresql+asyncpg://abdi@127.0.0.1:{port}/abdi"


def test_a_plain_command_becomes_abdi_itself(fake_abdi):
    done = run(fake_abdi, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert [args for _, *args in calls(fake_abdi)] == [["worker", "--once"]]
    assert done.stderr == ""  # no database wait unless asked


def test_exec_hands_the_process_over(fake_abdi, tmp_path):
    # The stand-in writes the pid it runs as: the same as the shell's when the shell exec'd, so
    # the container's SIGTERM reaches abdi itself.
    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text(
        f'#!/bin/sh\necho "shell $$" >> {tmp_path / "calls.log"}\nexec sh {ENTRYPOINT} "$@"\n'
    )
    environment = {"PATH": f"{fake_abdi}:/usr/bin:/bin", "ABDI_DB_WAIT_SECONDS": "0"}
    subprocess.run(["sh", str(wrapper), "serve"], env=environment, check=True, timeout=60)
    shell, abdi = calls(fake_abdi)
    assert shell[1] == abdi[0]
    assert abdi[1:] == ["serve"]


def test_migrate_waits_for_the_database_then_upgrades(fake_abdi, listening_port):
    done = run(fake_abdi, "migrate", DATABASE_URL=pg_url(listening_port))
    assert done.returncode == 0, done.stderr
    assert [args for _, *args in calls(fake_abdi)] == [["db", "upgrade"]]


def test_abdi_migrate_upgrades_before_the_command(fake_abdi, listening_port):
    done = run(fake_abdi, "serve", DATABASE_URL=pg_url(listening_port), ABDI_MIGRATE="1")
    assert done.returncode == 0, done.stderr
    assert [args for _, *args in calls(fake_abdi)] == [["db", "upgrade"], ["serve"]]


def test_the_database_url_may_come_from_a_secret_file(fake_abdi, tmp_path):
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "database_url").write_text(pg_url(closed_port()) + "\n")
    done = run(fake_abdi, "migrate", SECRETS_DIR=str(secrets), ABDI_DB_WAIT_TRIES="2")
    # The file's address was probed (and found down), not the SQLite default.
    assert done.returncode == 69
    assert calls(fake_abdi) == []


def test_a_database_that_never_answers_ends_with_a_clear_line(fake_abdi):
    done = run(
        fake_abdi,
        "serve",
        DATABASE_URL=pg_url(closed_port()),
        ABDI_MIGRATE="1",
        ABDI_DB_WAIT_TRIES="3",
    )
    assert done.returncode == 69
    assert calls(fake_abdi) == []  # neither the migration nor the server ran
    assert done.stderr.count("waiting for the database") == 2
    assert "did not answer after 3 tries" in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr


def test_a_failed_migration_stops_the_start(fake_abdi, listening_port, tmp_path):
    failing = fake_abdi / "abdi"
    failing.write_text(
        f'#!/bin/sh\necho "$$ $*" >> {tmp_path / "calls.log"}\n[ "$1" = db ] && exit 3\nexit 0\n'
    )
    done = run(fake_abdi, "serve", DATABASE_URL=pg_url(listening_port), ABDI_MIGRATE="1")
    assert done.returncode == 3
    assert [args for _, *args in calls(fake_abdi)] == [["db", "upgrade"]]


def test_a_sqlite_database_needs_no_wait(fake_abdi):
    done = run(
        fake_abdi, "migrate", DATABASE_URL="sqlite+aiosqlite:///var/abdi.db", ABDI_DB_WAIT_TRIES="1"
    )
    assert done.returncode == 0, done.stderr
    assert [args for _, *args in calls(fake_abdi)] == [["db", "upgrade"]]
