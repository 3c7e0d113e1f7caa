"""deploy/compose.yaml keeps its promises: migrations run once before anything else, every
service says how its health is known, two workers, logs that cannot fill the disk, and secrets
only as files. (No `docker compose` on the CI machine: Debian carries only the retired v1, so
this reading of the YAML is the check.)"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from bot.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ABDI = {name: s for name, s in SERVICES.items() if "abdi" in str(s.get("image", ""))}
# Every setting typed as a secret, and the database URL (it carries the password).
SECRETS = {
    name
    for name, field in Settings.model_fields.items()
    if field.annotation in (SecretStr, SecretStr | None)
} | {"database_url"}


def test_the_default_image_is_this_release():
    version = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]["version"]
    for service in ABDI.values():
        assert service["image"] == f"${{ABDI_IMAGE:-abdi:{version}}}"


def test_the_app_runs_as_migrate_serve_and_two_workers():
    assert set(ABDI) == {"migrate", "serve", "worker"}
    assert ABDI["migrate"]["command"] == ["migrate"]
    assert ABDI["serve"]["command"] == ["serve"]
    assert ABDI["worker"]["command"] == ["worker"]
    assert ABDI["worker"]["deploy"]["replicas"] == 2


def test_migrations_run_once_before_the_app_starts():
    migrate = ABDI["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("serve", "worker"):
        assert ABDI[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert ABDI[name]["environment"].get("ABDI_MIGRATE", "0") == "0"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_says_how_its_health_is_known(name):
    check = SERVICES[name]["healthcheck"]
    if name == "migrate":
        # A one-shot is judged by its exit code (service_completed_successfully).
        assert check == {"disable": True}
    else:
        assert check["test"][0] == "CMD" and check["retries"] >= 1
    if name in ("serve", "worker"):
        # The image's script asks the process's own /healthz (WEBHOOK_PORT or HEALTH_PORT).
        assert check["test"][1:] == ["python", "/app/deploy/healthcheck.py"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_rotates_its_logs(name):
    logging = SERVICES[name]["logging"]
    assert logging["driver"] == "json-file"
    assert set(logging["options"]) == {"max-size", "max-file"}


def test_data_lives_in_named_volumes():
    for name, target in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        [volume] = SERVICES[name]["volumes"]
        source, mount = volume.split(":")
        assert mount == target and source in COMPOSE["volumes"]


def test_secrets_are_files_never_environment_values():
    assert SECRETS >= {"telegram_bot_token", "whatsapp_app_secret", "whatsapp_token"}
    for name, service in ABDI.items():
        assert set(service["secrets"]) == SECRETS, name
        assert service["environment"]["SECRETS_DIR"] == "/run/secrets"
        assert not {key.lower() for key in service["environment"]} & SECRETS, name
    for name in SECRETS | {"postgres_password"}:
        assert COMPOSE["secrets"][name] == {"file": f"./secrets/{name}"}
    # PostgreSQL too takes its password from a file.
    postgres = SERVICES["postgres"]["environment"]
    assert "POSTGRES_PASSWORD" not in postgres and "POSTGRES_PASSWORD_FILE" in postgres


def test_the_example_env_file_sets_no_secret():
    lines = (DEPLOY / "abdi.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0].lower() for line in lines if "=" in line and line[0] != "#"}
    assert names, "the example sets nothing"
    assert not names & SECRETS
    # Set per process (each worker needs its own port on one host) or by the deployment files.
    assert not names & {"health_port", "secrets_dir", "delivery_in_process"}
    assert Settings.model_fields.keys() >= names
