"""privacy notice

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00.000000

The privacy notice (UU PDP) version each account was shown and when: the notice is shown on first
contact and once more when its version rises. Plain nullable columns: SQLite adds them in place
(no table rebuild, which would cascade-delete the account's deliveries).
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('account', sa.Column('notice_version', sa.Integer(), nullable=True))
    op.add_column(
        'account', sa.Column('notice_seen_at', sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column('account', 'notice_seen_at')
    op.drop_column('account', 'notice_version')
