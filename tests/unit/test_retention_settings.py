"""The retention table in configuration: every period has a category that enforces it, each is
read from the environment, and a period that would wipe the audit log stops start-up."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import RetentionSettings, Settings
from bot.services import retention


def test_every_period_is_enforced_by_one_category() -> None:
    periods = {name for name in RetentionSettings.model_fields if name.endswith("_days")}
    settings = {category.setting for category in retention.CATEGORIES}
    assert periods <= settings
    assert settings - periods == {"dedup_ttl_seconds"}  # update ids keep their existing setting
    assert len(retention.CATEGORIES) == len({c.name for c in retention.CATEGORIES})


def test_each_period_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    periods = [name for name in RetentionSettings.model_fields if name.endswith("_days")]
    for days, name in enumerate(periods, start=400):
        monkeypatch.setenv(name.upper(), str(days))
    monkeypatch.setenv("DEDUP_TTL_SECONDS", str(3 * 86400))
    settings = Settings(_env_file=None)
    assert [getattr(settings, name) for name in periods] == list(range(400, 400 + len(periods)))
    inbound = next(c for c in retention.CATEGORIES if c.name == "inbound_events")
    assert inbound.days(settings) == 3


def test_an_audit_period_under_a_year_stops_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEFAULT_LOCALE", raising=False)
    monkeypatch.setenv("RETENTION_AUDIT_DAYS", "30")
    assert main(["retention"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RETENTION_AUDIT_DAYS" in err
