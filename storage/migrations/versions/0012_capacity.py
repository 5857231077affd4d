"""issue #18: indexes for a city's years of data

Revision ID: 0012_capacity
Revises: 0011_ledger
Create Date: 2026-12-02 02:00:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0012_capacity'
down_revision: str | None = '0011_ledger'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
