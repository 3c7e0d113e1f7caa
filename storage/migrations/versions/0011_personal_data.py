"""privacy notice and personal-data requests

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00.000000

The privacy notice (UU PDP) version each account was shown and when: the notice is shown on first
contact and once more when its version rises. Plain nullable columns: SQLite adds them in place
(no table rebuild, which would cascade-delete the account's deliveries).

A user's request to correct or delete their personal data, with the deadline HR answers by
(`data_request`).
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

    op.create_table(
        'data_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('employee_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('text', sa.String(length=1000), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answered_by', sa.String(length=100), nullable=True),
        sa.Column('answer', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['employee_id'], ['employee.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(
        'ix_data_request_agency_status_due',
        'data_request',
        ['agency_id', 'status', 'due_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_data_request_agency_status_due', table_name='data_request')
    op.drop_table('data_request')
    op.drop_column('account', 'notice_seen_at')
    op.drop_column('account', 'notice_version')
