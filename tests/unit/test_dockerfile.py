"""The Dockerfile's promises that hadolint does not check: the image installs the hash-checked
lock, and its final stage runs as a non-root user with a health check and the entrypoint, with
nothing to compile with."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = re.split(r"^FROM ", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)[1:]
BUILD, FINAL = STAGES


def instructions(stage: str, keyword: str) -> list[str]:
    joined = stage.replace("\\\n", " ")
    return [
        line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(keyword + " ")
    ]


def test_two_stages_on_the_same_slim_python():
    assert BUILD.startswith("python:3.11-slim AS build")
    assert FINAL.startswith("python:3.11-slim\n")


def test_the_build_installs_the_lock_with_hashes_then_the_app_without_resolving():
    runs = " ".join(instructions(BUILD, "RUN"))
    assert "pip install --require-hashes -r /tmp/lock.txt" in runs
    assert "pip install --no-deps -e ." in runs
    assert "python -m bot.i18n" in runs
    assert "requirements/lock.txt /tmp/lock.txt" in instructions(BUILD, "COPY")


def test_the_final_stage_runs_abdi_as_a_user_with_a_health_check():
    [user] = instructions(FINAL, "USER")
    assert not user.startswith(("0", "root"))
    assert instructions(FINAL, "ENTRYPOINT") == ['["/app/deploy/entrypoint.sh"]']
    [health] = instructions(FINAL, "HEALTHCHECK")
    assert health.endswith('CMD ["python", "/app/deploy/healthcheck.py"]')
    copies = instructions(FINAL, "COPY")
    assert copies == ["--from=build /opt/venv /opt/venv", "--from=build /app /app"]
    assert not re.search(
        r"\b(gcc|build-essential|make|git)\b", " ".join(instructions(FINAL, "RUN"))
    )
