"""issue #16: data rights (copy, correction, deletion, retention)

Revision ID: 0013_rights
Revises: 0012_capacity
Create Date: 2026-12-02 06:30:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = '0013_rights'
down_revision: str | None = '0012_capacity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
