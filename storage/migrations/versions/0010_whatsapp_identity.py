"""whatsapp identity

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 08:40:00.000000

WhatsApp users come with a business-scoped user id (BSUID, "ID.1234…"), a phone number (wa_id),
or both; an account keeps the key it was created with (`user_ref`) and records both ids it was
seen with (`bsuid`, `wa_id`), so it is found whichever shape a message has. An identity change
reported by WhatsApp unlinks an employee's account until the user confirms again
(`reconfirm_employee_id`). A dead letter fed through the webhook again records when and what came
of it (`replayed_at`, `replay_note`).

Existing WhatsApp accounts were keyed on the BSUID (or, in data loaded by hand, on the number):
their ids are filled in from `user_ref`.

Only columns and indexes are added: SQLite adds them in place. Rebuilding the account table
(what a foreign key or a batch drop would do) cascade-deletes its deliveries, so the downgrade
drops the columns with plain ALTER TABLE (SQLite 3.35+) too.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('account', sa.Column('bsuid', sa.String(length=64), nullable=True))
    op.add_column('account', sa.Column('wa_id', sa.String(length=32), nullable=True))
    op.add_column('account', sa.Column('reconfirm_employee_id', sa.Integer(), nullable=True))
    op.create_index('ix_account_channel_bsuid', 'account', ['channel', 'bsuid'], unique=False)
    op.create_index('ix_account_channel_wa_id', 'account', ['channel', 'wa_id'], unique=False)
    with op.batch_alter_table('webhook_dead_letter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('replay_note', sa.String(length=200), nullable=True))
    _backfill()


def _backfill() -> None:
    bind = op.get_bind()
    accounts = sa.table(
        'account',
        sa.column('id', sa.Integer()),
        sa.column('channel', sa.String()),
        sa.column('user_ref', sa.String()),
        sa.column('bsuid', sa.String()),
        sa.column('wa_id', sa.String()),
    )
    rows = bind.execute(
        sa.select(accounts.c.id, accounts.c.user_ref).where(accounts.c.channel == 'whatsapp')
    ).all()
    changes = []
    for row in rows:
        ref = row.user_ref or ''
        country, dot, number = ref.partition('.')
        if dot and len(country) == 2 and country.isalpha() and number.isdigit():
            changes.append({'rid': row.id, 'b': ref, 'w': None})
        elif ref.isdigit():
            changes.append({'rid': row.id, 'b': None, 'w': ref})
    if changes:
        bind.execute(
            accounts.update()
            .where(accounts.c.id == sa.bindparam('rid'))
            .values(bsuid=sa.bindparam('b'), wa_id=sa.bindparam('w')),
            changes,
        )


def downgrade() -> None:
    with op.batch_alter_table('webhook_dead_letter', schema=None) as batch_op:
        batch_op.drop_column('replay_note')
        batch_op.drop_column('replayed_at')
    op.drop_index('ix_account_channel_wa_id', table_name='account')
    op.drop_index('ix_account_channel_bsuid', table_name='account')
    op.drop_column('account', 'reconfirm_employee_id')
    op.drop_column('account', 'wa_id')
    op.drop_column('account', 'bsuid')
