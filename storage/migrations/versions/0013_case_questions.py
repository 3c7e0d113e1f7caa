"""case questions

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:00:00.000000

A family's question to the 4-in-1 desk ("Tanya petugas") and the officer's answer, kept with
the case (`case_question`, subject to retention by `created_at`).
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=100), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_case_question_account_id_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_case_question_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['case_id'], ['four_in_one_case.id'], name=op.f('fk_case_question_case_id_four_in_one_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_question'))
    )
    with op.batch_alter_table('case_question', schema=None) as batch_op:
        batch_op.create_index('ix_case_question_agency_open', ['agency_id', 'answered_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_question_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_question_case_id'))
        batch_op.drop_index('ix_case_question_agency_open')
    op.drop_table('case_question')
