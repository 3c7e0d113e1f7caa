"""broadcast acknowledgements and family satisfaction

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 17:00:00.000000

A broadcast may ask its recipients to confirm they read it (`broadcast.ack_requested`); each
recipient's confirmation is kept on their delivery row (`delivery.confirmed_at`); those who have
not confirmed `ack_remind_hours` after the release are reminded once (`ack_reminded_at`). A 4-in-1 case keeps the
family's satisfaction answer (`skm_*`: asked once, score 1-4, optional comment). Only columns are
added, in place, so no table is rebuilt (a rebuild of delivery would be slow on large agencies).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'broadcast',
        sa.Column('ack_requested', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column('broadcast', sa.Column('ack_remind_hours', sa.Integer(), nullable=True))
    op.add_column(
        'broadcast', sa.Column('ack_reminded_at', sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column('delivery', sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
    for name in ('skm_asked_at', 'skm_answered_at'):
        op.add_column(
            'four_in_one_case', sa.Column(name, sa.DateTime(timezone=True), nullable=True)
        )
    op.add_column('four_in_one_case', sa.Column('skm_score', sa.Integer(), nullable=True))
    op.add_column('four_in_one_case', sa.Column('skm_comment', sa.String(length=500), nullable=True))


def downgrade() -> None:
    for name in ('skm_comment', 'skm_score', 'skm_answered_at', 'skm_asked_at'):
        op.drop_column('four_in_one_case', name)
    op.drop_column('delivery', 'confirmed_at')
    op.drop_column('broadcast', 'ack_reminded_at')
    op.drop_column('broadcast', 'ack_remind_hours')
    op.drop_column('broadcast', 'ack_requested')
