"""retention

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:50:00.000000

Retention (UU PDP): the outcome counts of a broadcast's removed deliveries (`broadcast_tally`),
so its report keeps its totals, and when a closed 4-in-1 case was anonymised
(`four_in_one_case.anonymised_at`). A nullable column is added in place on SQLite.
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'broadcast_tally',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('broadcast_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['broadcast_id'],
            ['broadcast.id'],
            name=op.f('fk_broadcast_tally_broadcast_id_broadcast'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_tally')),
        sa.UniqueConstraint(
            'broadcast_id', 'status', 'reason', name='uq_broadcast_tally_outcome'
        ),
    )
    op.add_column(
        'four_in_one_case', sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column('four_in_one_case', 'anonymised_at')
    op.drop_table('broadcast_tally')
