"""employee name index

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:25:00.000000

The HR console lists an agency's staff by name, 50 to a page: an index on (agency_id, name)
serves that order, so a deep page of 100,000 employees no longer sorts them all.
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_employee_agency_name', 'employee', ['agency_id', 'name'])


def downgrade() -> None:
    op.drop_index('ix_employee_agency_name', table_name='employee')
