"""four in one pending reports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:12:40.118204

A report that matches a case becomes a pending duplicate (`duplicate_of_id`) that a desk officer
merges or rejects. A contact row says where its details came from (`source`: officer, reporter,
follower) and whether its chat is the verified family (`verified`). Existing rows are filled
conservatively: only a case's opening row counts as the officer's record or the reporter's own
account; every later row (second reports folded in, code followers) starts unverified.

`duplicate_of_id` has no foreign key on purpose: adding one makes SQLite rebuild the case table,
and dropping the old table then cascade-deletes its documents, contacts and events. For the
same reason every column is added and dropped with plain ALTER TABLE.
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The opening contact row was written in the same transaction as its case.
OPENING_WINDOW_SECONDS = 60


def upgrade() -> None:
    op.add_column('case_contact', sa.Column('source', sa.String(length=16), server_default='follower', nullable=False))
    op.add_column('case_contact', sa.Column('verified', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    op.add_column('four_in_one_case', sa.Column('duplicate_of_id', sa.Integer(), nullable=True))
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    cases = sa.table(
        'four_in_one_case',
        sa.column('id', sa.Integer()),
        sa.column('opened_via', sa.String()),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    contacts = sa.table(
        'case_contact',
        sa.column('id', sa.Integer()),
        sa.column('case_id', sa.Integer()),
        sa.column('account_id', sa.Integer()),
        sa.column('name', sa.String()),
        sa.column('phone', sa.String()),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('source', sa.String()),
        sa.column('verified', sa.Boolean()),
    )
    rows = bind.execute(
        sa.select(
            contacts.c.id, contacts.c.case_id, contacts.c.account_id, contacts.c.name,
            contacts.c.phone, contacts.c.created_at, cases.c.opened_via,
            cases.c.created_at.label('case_created_at'),
        )
        .join(cases, cases.c.id == contacts.c.case_id)
        .order_by(contacts.c.case_id, contacts.c.id)
    ).all()
    changes = []
    seen: set[int] = set()
    for row in rows:
        first = row.case_id not in seen
        seen.add(row.case_id)
        details = bool(row.name or row.phone)
        if not details:
            continue  # a follower: the defaults (follower, unverified) hold
        opening = first and _close(row.created_at, row.case_created_at)
        if opening and row.opened_via == 'officer':
            # The officer's record; a chat holds it only after sharing that very phone.
            changes.append({'rid': row.id, 'src': 'officer', 'ok': row.account_id is not None})
        elif opening and row.account_id is not None and row.phone:
            changes.append({'rid': row.id, 'src': 'reporter', 'ok': True})  # the reporter's chat
        else:
            changes.append({'rid': row.id, 'src': 'reporter', 'ok': False})
    if changes:
        bind.execute(
            contacts.update()
            .where(contacts.c.id == sa.bindparam('rid'))
            .values(source=sa.bindparam('src'), verified=sa.bindparam('ok')),
            changes,
        )


def _close(a, b) -> bool:  # type: ignore[no-untyped-def]
    if a is None or b is None:
        return False
    if (a.tzinfo is None) != (b.tzinfo is None):
        a, b = a.replace(tzinfo=None), b.replace(tzinfo=None)
    return abs((a - b).total_seconds()) <= OPENING_WINDOW_SECONDS


def downgrade() -> None:
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch rebuild of four_in_one_case would
    # cascade-delete its documents, contacts and events when the old table is dropped.
    op.drop_column('four_in_one_case', 'duplicate_of_id')
    op.drop_column('case_contact', 'verified')
    op.drop_column('case_contact', 'source')
