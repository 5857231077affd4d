"""outbox (issue #7): when a row's request began, so a crash gives up only the messages really on their way

Revision ID: 0004_outbox_started
Revises: 0003_followup_keys
Create Date: 2026-11-27 14:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004_outbox_started'
down_revision: str | None = '0003_followup_keys'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('started_at')
