"""issue #11: upload ownership, invite attempts by address, delivery hardening

Revision ID: 0006_reliability
Revises: 0005_outbox_parts
Create Date: 2026-12-02 02:00:00

uploads: each web chat upload with its chat, a keyed hash of the client address and its size, so the quotas per
chat, per address and overall hold across processes, and files no ticket holds are removed after a day.
audit_log.origin: a keyed hash of where a failed /join came from, so invite guesses are counted per address too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_reliability'
down_revision: str | None = '0005_outbox_parts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('uploads',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
    sa.UniqueConstraint('name', name=op.f('uq_uploads_name'))
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_uploads_address_created', ['address', 'created_at'], unique=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_audit_log_action_origin', ['action', 'origin', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_origin')
        batch_op.drop_column('origin')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_uploads_address_created')
        batch_op.drop_index(batch_op.f('ix_uploads_created_at'))
        batch_op.drop_index(batch_op.f('ix_uploads_chat_id'))
    op.drop_table('uploads')
