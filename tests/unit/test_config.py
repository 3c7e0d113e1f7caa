"""Configuration: secrets from files, secrets never shown, bad values stopped in one line."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from bot.cli import main
from bot.config import Settings
from bot.logs import JsonFormatter

TOKEN = "123456:AAF-secret-token-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees only the variables it sets, whatever the machine has exported."""
    for name in ("SECRETS_DIR", "TELEGRAM_BOT_TOKEN", "LOG_LEVEL", "DEFAULT_LOCALE"):
        monkeypatch.delenv(name, raising=False)


def test_secrets_are_read_from_files_in_secrets_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "telegram_bot_token").write_text(TOKEN + "\n")
    (tmp_path / "whatsapp_app_secret").write_text("app-secret")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    settings = Settings(_env_file=None)
    assert settings.telegram_bot_token == SecretStr(TOKEN)
    assert settings.whatsapp_app_secret == SecretStr("app-secret")
    assert settings.secrets_dir == tmp_path


def test_the_environment_wins_over_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "telegram_bot_token").write_text("from-file")
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert Settings(_env_file=None).telegram_bot_token == SecretStr(TOKEN)


def test_a_secrets_dir_given_in_code_is_used(tmp_path: Path) -> None:
    (tmp_path / "whatsapp_token").write_text("graph-token")
    settings = Settings(_env_file=None, _secrets_dir=tmp_path)
    assert settings.whatsapp_token == SecretStr("graph-token")


def test_a_missing_secrets_dir_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRETS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ValidationError, match="secrets_dir"):
        Settings(_env_file=None)


def test_secrets_never_show_in_repr_str_or_logs() -> None:
    # Plain strings, as the environment gives them: the settings make them secrets.
    given: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": "hook-secret-1",
        "whatsapp_token": "graph-secret-2",
        "whatsapp_app_secret": "app-secret-3",
        "whatsapp_verify_token": "verify-secret-4",
    }
    settings = Settings(_env_file=None, **given)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("abdi.test.config")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("settings %s", settings, extra={"settings": settings.model_dump()})
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    shown = repr(settings) + str(settings) + stream.getvalue() + settings.model_dump_json()
    for secret in (TOKEN, "hook-secret-1", "graph-secret-2", "app-secret-3", "verify-secret-4"):
        assert secret not in shown
    assert settings.telegram_bot_token is not None
    assert settings.telegram_bot_token.get_secret_value() == TOKEN  # still there for its use


def test_log_level_is_read_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert Settings(_env_file=None).log_level == "DEBUG"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("LOG_LEVEL", "LOUD"), ("DEFAULT_LOCALE", "fr"), ("SECRETS_DIR", "/nonexistent/secrets")],
)
def test_bad_values_stop_with_one_line(
    variable: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["roster", "export", "/nonexistent/out.csv"]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == ""
    assert len(lines) == 1, err
    assert lines[0].startswith("abdi: galat: ") and variable in lines[0], lines
