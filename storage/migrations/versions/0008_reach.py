"""issue #14: linked identities, web push, SMS, delivery attempts

Revision ID: 0008_reach
Revises: 0007_wechat
Create Date: 2026-12-02 02:00:00

A slot reserved so that work on several issues at once keeps one linear chain; empty until its issue needs it.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision: str = '0008_reach'
down_revision: str | None = '0007_wechat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
