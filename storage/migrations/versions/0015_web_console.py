"""web console

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:10:00.000000

The HR web console's one-time login codes (`login_code`) and signed-in sessions
(`web_session`); both keep only hashes of what the browser or the chat holds.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['employee_id'],
            ['employee.id'],
            name=op.f('fk_login_code_employee_id_employee'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_code')),
    )
    op.create_index(op.f('ix_login_code_code_hash'), 'login_code', ['code_hash'])
    op.create_table(
        'web_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('employee_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('csrf', sa.String(length=64), nullable=False),
        sa.Column('locale', sa.String(length=8), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['agency_id'],
            ['agency.id'],
            name=op.f('fk_web_session_agency_id_agency'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['employee_id'],
            ['employee.id'],
            name=op.f('fk_web_session_employee_id_employee'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_session_token_hash')),
    )
    op.create_index(op.f('ix_web_session_expires_at'), 'web_session', ['expires_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_web_session_expires_at'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_login_code_code_hash'), table_name='login_code')
    op.drop_table('login_code')
