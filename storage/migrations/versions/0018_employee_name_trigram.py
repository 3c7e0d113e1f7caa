"""employee name trigram index

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:30:00.000000

The roster's name search is `lower(name) LIKE '%words%'` OR the NIP: a substring, which no
B-tree serves, so 100,000 employees were read on every search. On PostgreSQL a trigram GIN
index on lower(name) (pg_trgm) answers it; with the NIP's unique index the planner ORs the two
bitmaps. Creating the extension needs a role allowed to (a superuser, or one with CREATE on the
database, pg_trgm being trusted): where it is refused the migration logs why and goes on
without the index; the search still works, only slower, and `abdi doctor` says so
(docs/hr.md, Name search, has the commands for a superuser). SQLite:
nothing (no trigram index there; its rosters are small).
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEX = "ix_employee_name_trgm"
CREATE = f"CREATE INDEX IF NOT EXISTS {INDEX} ON employee USING gin (lower(name) gin_trgm_ops)"
LATER = f"CREATE EXTENSION IF NOT EXISTS pg_trgm; {CREATE}"
log = logging.getLogger("abdi.migrations")


def _trigrams_ready(bind: sa.Connection) -> bool:
    """pg_trgm installed now, or installed by us inside a savepoint that is rolled back alone
    when the role may not create it (the rest of the upgrade's transaction goes on)."""
    if bind.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    if not bind.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")):
        log.warning(
            "pg_trgm is not available on this PostgreSQL server (package postgresql-contrib): "
            "the roster name search runs without the trigram index %s (it works, only slower)",
            INDEX,
        )
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        log.warning(
            "could not CREATE EXTENSION pg_trgm (%s): the roster name search runs without "
            "the trigram index %s (it works, only slower); a superuser can add it later: %s",
            str(exc.orig).splitlines()[0] if exc.orig else exc,
            INDEX,
            LATER,
        )
        return False
    return True


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql" and _trigrams_ready(bind):
        op.execute(CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: other databases of the server, or an operator, may use it.
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
