"""issue #15: answers for officers, relay state, unit kinds

Revision ID: 0009_citizen_ux
Revises: 0008_reach
Create Date: 2026-12-02 02:00:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0009_citizen_ux'
down_revision: str | None = '0008_reach'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
