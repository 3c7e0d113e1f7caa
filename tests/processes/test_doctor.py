"""`abdi doctor` as an operator runs it: one row per check against the real clients, the fake Bot
API and fake Graph API on loopback, a real database and Redis; each fault on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update

from storage import db
from storage.models import NAME_TRIGRAM_INDEX, Agency
from tests.conftest import REDIS_URL, Result
from tests.fakes import fake_graph_api
from tests.fakes.fake_bot_api import TOKEN, FakeBotAPI
from tests.fakes.fake_graph_api import FakeGraphAPI

HOOK = "https://abdi.example.go.id/telegram/webhook"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraphAPI]:
    api = FakeGraphAPI()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture
def configured(cli, monkeypatch: pytest.MonkeyPatch, bot_api: FakeBotAPI, graph: FakeGraphAPI):
    """Every channel and Redis configured, pointing at the fakes (after `cli` cleared the env)."""
    bot_api.webhook_url = HOOK
    env = {
        "REDIS_URL": REDIS_URL,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": bot_api.base,
        "TELEGRAM_WEBHOOK_URL": HOOK,
        "WHATSAPP_TOKEN": fake_graph_api.TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": fake_graph_api.PHONE_ID,
        "WHATSAPP_BUSINESS_ACCOUNT_ID": fake_graph_api.WABA_ID,
        "WHATSAPP_API_BASE": graph.base,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli


def rows(result: Result) -> list[tuple[str, str]]:
    """(check, status) of every row of the table (a row's first line holds both)."""
    found = []
    for line in result.out.splitlines()[2:]:
        name, status = line[:20].strip(), line[22:34].strip()
        if not line.strip():
            break  # the summary follows the table
        if name:
            found.append((name, status))
    return found


def says(result: Result, *fragments: str) -> bool:
    """Whether the output says these, whichever line the table wrapped them on."""
    words = " ".join(result.out.split())
    return all(" ".join(fragment.split()) in words for fragment in fragments)


def statuses(result: Result, check: str) -> list[str]:
    return [status for name, status in rows(result) if name == check]


def failed_alone(result: Result, check: str) -> None:
    """The run failed, on this check and no other."""
    assert result.code == 1, result
    failures = [name for name, status in rows(result) if status == "GAGAL"]
    assert failures == [check], result.out


async def test_everything_configured_works(configured) -> None:
    result = await configured("doctor")
    assert result.code == 0, result
    assert {status for _, status in rows(result)} == {"OK"}, result.out
    checked = [name for name, _ in rows(result)]
    for check in ("Basis data", "Migrasi", "Redis", "Telegram", "Webhook Telegram", "WhatsApp",
                  "Webhook WhatsApp", "Templat WhatsApp", "Zona waktu"):  # fmt: skip
        assert check in checked, result.out
    assert says(result, "@abdi_test_bot", HOOK)
    assert TOKEN not in result.out and fake_graph_api.TOKEN not in result.out


async def test_nothing_configured_is_not_a_failure(cli) -> None:
    result = await cli("doctor")
    assert result.code == 0, result
    for check in ("Redis", "Telegram", "WhatsApp"):
        assert statuses(result, check) == ["tidak diatur"], result.out


async def test_database_unreachable(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://abdi:hunter2@127.0.0.1:1/abdi")
    result = await cli("doctor")
    failed_alone(result, "Basis data")
    assert "hunter2" not in result.out and "abdi:***@127.0.0.1:1/abdi" in result.out


async def test_migrations_behind(cli, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.create_engine(database_url)
    await db.downgrade(engine, "-1")
    await engine.dispose()
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    result = await cli("doctor")
    failed_alone(result, "Migrasi")
    assert says(result, "abdi db upgrade")


@SQLITE_ONLY
async def test_migrations_behind_on_sqlite_that_migrates_itself_only_warn(
    cli, database_url: str
) -> None:
    engine = db.create_engine(database_url)
    await db.downgrade(engine, "-1")
    await engine.dispose()
    result = await cli("doctor")
    assert result.code == 0, result
    assert statuses(result, "Migrasi") == ["PERINGATAN"], result.out


@SQLITE_ONLY
async def test_redis_down(configured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:pw-redis@127.0.0.1:1/0")
    result = await configured("doctor")
    failed_alone(result, "Redis")
    assert "pw-redis" not in result.out


@SQLITE_ONLY
async def test_wrong_telegram_token(configured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "777000:revoked-token")
    result = await configured("doctor")
    failed_alone(result, "Telegram")
    assert says(result, "@BotFather") and "revoked-token" not in result.out


@SQLITE_ONLY
async def test_webhook_set_by_someone_else(configured, bot_api: FakeBotAPI) -> None:
    bot_api.webhook_url = "https://elsewhere.example/hook"
    result = await configured("doctor")
    failed_alone(result, "Webhook Telegram")
    assert says(result, "https://elsewhere.example/hook")


@SQLITE_ONLY
async def test_webhook_errors_and_backlog_warn_without_failing(
    configured, bot_api: FakeBotAPI
) -> None:
    bot_api.webhook_error = "Connection timed out"
    bot_api.webhook_pending = 250
    result = await configured("doctor")
    assert result.code == 0, result
    assert statuses(result, "Webhook Telegram") == ["OK", "PERINGATAN", "PERINGATAN"], result.out
    assert says(result, "Connection timed out", "250 pembaruan menunggu")


@SQLITE_ONLY
async def test_whatsapp_token_rejected(configured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_TOKEN", "EAAG-expired")
    result = await configured("doctor")
    failed_alone(result, "WhatsApp")
    assert says(result, "Invalid OAuth") and "EAAG-expired" not in result.out


@SQLITE_ONLY
async def test_unknown_phone_number_id(configured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WHATSAPP_PHONE_NUMBER_ID", "999000999")
    result = await configured("doctor")
    failed_alone(result, "WhatsApp")
    assert says(result, "999000999")


@SQLITE_ONLY
async def test_template_missing(configured, graph: FakeGraphAPI) -> None:
    graph.templates = {"some_other_template"}
    result = await configured("doctor")
    failed_alone(result, "Templat WhatsApp")
    assert says(result, "abdi_pemberitahuan (id) tidak ada")


@SQLITE_ONLY
async def test_template_not_yet_approved(configured, graph: FakeGraphAPI) -> None:
    graph.template_status = "PENDING"
    result = await configured("doctor")
    failed_alone(result, "Templat WhatsApp")
    assert says(result, "PENDING")


@SQLITE_ONLY
async def test_webhook_subscription_missing(configured, graph: FakeGraphAPI) -> None:
    graph.subscribed_apps = []
    result = await configured("doctor")
    failed_alone(result, "Webhook WhatsApp")


@SQLITE_ONLY
async def test_without_business_account_id_warns(
    configured, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WHATSAPP_BUSINESS_ACCOUNT_ID")
    result = await configured("doctor")
    assert result.code == 0, result
    assert statuses(result, "Webhook WhatsApp") == ["PERINGATAN"], result.out


@SQLITE_ONLY
async def test_english(configured, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "777000:revoked-token")
    result = await configured("doctor", "--lang", "en")
    assert result.code == 1, result
    assert result.out.startswith("Check")
    assert ("Telegram", "FAILED") in rows(result) and ("Database", "OK") in rows(result)
    assert says(result, "Telegram rejects the token", "1 checks FAILED")


@SQLITE_ONLY
async def test_an_agency_with_an_unknown_time_zone(cli, app) -> None:
    async with app.sessions() as session, session.begin():
        await session.execute(update(Agency).values(timezone="Asia/Atlantis"))
    result = await cli("doctor")
    failed_alone(result, "Zona waktu")
    assert says(result, "Asia/Atlantis")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_the_name_search_index_missing_on_postgresql_warns(cli, database_url: str) -> None:
    result = await cli("doctor")
    assert statuses(result, "Pencarian nama") == ["OK"], result.out
    engine = db.create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP INDEX {NAME_TRIGRAM_INDEX}"))
    await engine.dispose()
    result = await cli("doctor")
    assert result.code == 0, result
    assert statuses(result, "Pencarian nama") == ["PERINGATAN"], result.out
    assert says(result, "docs/hr.md")
