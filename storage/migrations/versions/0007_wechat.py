"""issue #13: WeChat access tokens, customer-service windows, subscription grants

Revision ID: 0007_wechat
Revises: 0006_reliability
Create Date: 2026-12-02 02:00:00

The access token every process shares (a compare-and-set on its version), each follower's customer-service window,
their subscription-notification grants, and the outbox rows held until they write again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_wechat'
down_revision: str | None = '0006_reliability'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wechat_tokens',
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('refreshing_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_wechat_tokens'))
    )
    op.create_table('wechat_windows',
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sends_left', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('openid', name=op.f('pk_wechat_windows'))
    )
    op.create_table('wechat_grants',
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('template_id', sa.String(length=128), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('openid', 'template_id', name=op.f('pk_wechat_grants'))
    )
    op.create_table('wechat_held',
    sa.Column('outbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_wechat_held_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_wechat_held'))
    )
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_held_openid'), ['openid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_held_openid'))
    op.drop_table('wechat_held')
    op.drop_table('wechat_grants')
    op.drop_table('wechat_windows')
    op.drop_table('wechat_tokens')
