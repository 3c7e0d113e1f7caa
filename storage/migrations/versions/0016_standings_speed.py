"""standings speed

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:40:00.000000

Closing a quarter aggregates every rating of it by ratee and relation. The index on
(period_id, ratee_id) becomes one that also carries relation, score and updated_at: the
aggregation reads the index alone, already in group order, instead of a million table rows
(with their JSON scores). It still serves every lookup the old index served (same leading
columns). Plain columns, not INCLUDE, so SQLite has the same index.
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(
            'ix_rating_period_ratee_scores',
            ['period_id', 'ratee_id', 'relation', 'score', 'updated_at'],
            unique=False,
        )
        batch_op.drop_index('ix_rating_period_ratee')


def downgrade() -> None:
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_period_ratee', ['period_id', 'ratee_id'], unique=False)
        batch_op.drop_index('ix_rating_period_ratee_scores')
