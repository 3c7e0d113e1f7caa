"""What a release promises: installs from a lock that names every dependency, a version that
`abdi --version` and CHANGELOG.md agree on."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from bot.cli.command import main

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked(name: str) -> dict[str, Version]:
    """Package → pinned version of requirements/<name>, each pin required to carry a hash."""
    pins: dict[str, Version] = {}
    text = (ROOT / "requirements" / name).read_text()
    # A pin and its hashes are one logical line, continued with backslashes.
    for entry in text.replace("\\\n", " ").splitlines():
        match = PIN.match(entry)
        if match:
            assert "--hash=sha256:" in entry, f"{match[1]} is pinned without a hash in {name}"
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def requirements(*extras: str) -> list[Requirement]:
    named = list(PROJECT["dependencies"])
    for extra in extras:
        named += PROJECT["optional-dependencies"][extra]
    return [Requirement(line) for line in named]


@pytest.mark.parametrize(
    ("lock", "extras"), [("lock.txt", ()), ("lock-test.txt", ("test",))], ids=["runtime", "test"]
)
def test_the_lock_pins_every_dependency_within_its_range(lock, extras):
    pins = locked(lock)
    missing = [str(req) for req in requirements(*extras) if canonicalize_name(req.name) not in pins]
    assert not missing, f"not in requirements/{lock} (run `make lock`): {missing}"
    outside = [
        f"{req.name}=={pins[canonicalize_name(req.name)]} (wants {req.specifier})"
        for req in requirements(*extras)
        if not req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True)
    ]
    assert not outside, f"requirements/{lock} is stale (run `make lock`): {outside}"


def test_the_runtime_lock_carries_no_test_tools():
    test_only = {canonicalize_name(req.name) for req in requirements("test")} - {
        canonicalize_name(req.name) for req in requirements()
    }
    assert test_only & set(locked("lock.txt")) == set()


def test_abdi_version_prints_the_project_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.split() == ["abdi", PROJECT["version"]]


def test_the_changelog_top_release_is_the_project_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    releases = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    # "Unreleased" (Keep a Changelog) may gather changes above the latest release.
    assert next(r for r in releases if r != "Unreleased") == PROJECT["version"]
