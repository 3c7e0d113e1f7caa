"""What one update costs the database: a menu update is its claim, one account query, one commit.

Counted at the SQLAlchemy engine (every statement the driver is given), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select

from bot.app import App
from bot.messages import Channel, Inbound, Reply
from storage.models import Account, Employee, EmployeeRole, InboundEvent


class Counted:
    """Statements and commits the app's engine sends while the counter is on."""

    def __init__(self, app: App) -> None:
        self.statements: list[str] = []
        self.commits = 0
        event.listen(app.engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(app.engine.sync_engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        self.statements.append(sql)

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def reset(self) -> None:
        self.statements.clear()
        self.commits = 0


async def _send(
    app: App, user: str, event_id: str, text: str | None = None, action: str | None = None
) -> list[Reply]:
    inbound = Inbound(
        Channel.TELEGRAM, chat_ref=user, user_ref=user, event_id=event_id, text=text, action=action
    )
    return await app.dispatcher.take(inbound)


async def _link_hr(app: App, user: str) -> None:
    async with app.sessions() as session, session.begin():
        employee = await session.scalar(select(Employee).order_by(Employee.id).limit(1))
        assert employee is not None
        session.add(EmployeeRole(employee_id=employee.id, role="hr"))
        session.add(
            Account(
                agency_id=employee.agency_id,
                channel="telegram",
                user_ref=user,
                chat_ref=user,
                employee_id=employee.id,
            )
        )


async def test_a_guests_menu_update_is_a_claim_an_account_query_and_a_commit(demo_app) -> None:
    counted = Counted(demo_app)
    await _send(demo_app, "8101", "cost-1", text="/start")  # creates the account
    counted.reset()
    replies = await _send(demo_app, "8101", "cost-2", text="/menu")
    assert "Silakan pilih layanan" in replies[-1].text
    assert len(counted.statements) == 2, counted.statements
    assert counted.commits == 1
    counted.reset()
    await _send(demo_app, "8101", "cost-3", action="home:help")
    assert len(counted.statements) == 2, counted.statements


async def test_a_linked_hr_officers_menu_needs_no_query_for_roles(demo_app) -> None:
    await _link_hr(demo_app, "8102")
    counted = Counted(demo_app)
    await _send(demo_app, "8102", "cost-4", text="/menu")
    counted.reset()
    replies = await _send(demo_app, "8102", "cost-5", text="/menu")
    # Employee, its roles and every role condition came with the account row.
    assert "Meja HR" in " ".join(c.label for c in replies[-1].choices)
    assert len(counted.statements) == 2, counted.statements
    assert counted.commits == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_on_sqlite_a_statement_is_one_trip_to_the_drivers_thread(demo_app) -> None:
    # SQLite's one connection is held for every trip to aiosqlite's thread: SQLAlchemy's own
    # adapter takes four per statement (cursor, execute, fetch, close); storage/sqlite_driver.py
    # takes one, so a menu update is three trips: the claim, the account query, the commit.
    await _send(demo_app, "8104", "cost-7", text="/start")
    async with demo_app.engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
    trips: list[str] = []
    real = driver._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    driver._execute = counted
    try:
        replies = await _send(demo_app, "8104", "cost-8", text="/menu")
    finally:
        del driver._execute
    assert "Silakan pilih layanan" in replies[-1].text
    assert len(trips) == 3, trips


async def test_a_duplicate_costs_only_its_claim(demo_app) -> None:
    await _send(demo_app, "8103", "cost-6", text="/menu")
    counted = Counted(demo_app)
    assert await _send(demo_app, "8103", "cost-6", text="/menu") == []
    assert len(counted.statements) == 1, counted.statements


async def test_a_connection_given_back_mid_transaction_is_rolled_back(app) -> None:
    # Work SQLAlchemy's Connection never saw (straight on the driver): only the pool's reset,
    # which no longer rolls back every connection it gets back on SQLite, can undo it.
    def raw_insert(sync_conn: Any) -> None:
        cursor = sync_conn.connection.dbapi_connection.cursor()
        cursor.execute(
            "INSERT INTO inbound_event (event_id, received_at) "
            "VALUES ('telegram:left-open', '2026-12-07 06:00:00')"
        )
        cursor.close()

    async with app.engine.connect() as conn:
        await conn.run_sync(raw_insert)
    async with app.sessions() as session:
        left = await session.scalar(select(func.count()).select_from(InboundEvent))
    assert left == 0
