"""follow-ups (issue #6): a unique key for follow-ups that must exist once, the moment a ticket was rated

Revision ID: 0003_followup_keys
Revises: 0002_guide_broadcasts
Create Date: 2026-11-27 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003_followup_keys'
down_revision: str | None = '0002_guide_broadcasts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_follow_ups_key'), ['key'])
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('rated_at')
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_follow_ups_key'), type_='unique')
        batch_op.drop_column('key')
