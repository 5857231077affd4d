"""issue #11: upload ownership, invite attempts by address, delivery hardening

Revision ID: 0006_reliability
Revises: 0005_outbox_parts
Create Date: 2026-12-02 02:00:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0006_reliability'
down_revision: str | None = '0005_outbox_parts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
