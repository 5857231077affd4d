"""issue #16: sealed answers, retention, key versions, audit

Revision ID: 0010_privacy
Revises: 0009_citizen_ux
Create Date: 2026-12-02 02:00:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_privacy'
down_revision: str | None = '0009_citizen_ux'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sensitive answers, the originals of masked free text and attachments' names, sealed
    # (storage/repositories/tickets.py); rows written before it are sealed by `python -m bot privacy seal-existing`
    # (handlers/citizen/privacy/legacy.py: only the interviews know which answers are sensitive), which holds the key.
    op.add_column('tickets', sa.Column('details_sealed', sa.Text(), nullable=True))
    op.add_column('ticket_events', sa.Column('note_sealed', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('ticket_events', 'note_sealed')
    op.drop_column('tickets', 'details_sealed')
