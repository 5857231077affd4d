"""issue #18: web chat wake-ups across processes; indexes for a city's years of data

Revision ID: 0012_capacity
Revises: 0011_ledger
Create Date: 2026-12-02 02:00:00

On PostgreSQL a trigger announces every new outbox row for a web chat (NOTIFY shishi_webchat, the chat as payload;
delivered when the writing transaction commits, so a page is never woken for a row it cannot read yet). Every process
LISTENs and wakes the pages it holds (bot/channels/webchat/wakeups.py). SQLite serves one process: nothing to do.
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op


revision: str = '0012_capacity'
down_revision: str | None = '0011_ledger'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Indexes that follow from the plans on a generated city (bench/city.py, bench/queries.py): an officer's and a
    # unit's tickets are asked for by status, and over the years most of them are closed.
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_officer_id')
        batch_op.drop_index('ix_tickets_unit_id')
        batch_op.create_index('ix_tickets_officer_status', ['officer_id', 'status'], unique=False)
        batch_op.create_index('ix_tickets_unit_status', ['unit_id', 'status'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION shishi_webchat_notify() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('shishi_webchat', NEW.recipient);
                RETURN NULL;
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER outbox_webchat_notify AFTER INSERT ON outbox FOR EACH ROW "
            "WHEN (NEW.channel = 'webchat') EXECUTE FUNCTION shishi_webchat_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS outbox_webchat_notify ON outbox")
        op.execute("DROP FUNCTION IF EXISTS shishi_webchat_notify()")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_unit_status')
        batch_op.drop_index('ix_tickets_officer_status')
        batch_op.create_index('ix_tickets_unit_id', ['unit_id'], unique=False)
        batch_op.create_index('ix_tickets_officer_id', ['officer_id'], unique=False)
