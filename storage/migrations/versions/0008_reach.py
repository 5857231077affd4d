"""issue #14: linked identities, web push, SMS, delivery attempts

Revision ID: 0008_reach
Revises: 0007_wechat
Create Date: 2026-12-02 02:00:00

One person across channels (the links and their one-time codes), web push subscriptions, the phone confirmed for SMS
and the SMS sent, which web chat pages are open, and the delivery ladder on the outbox row (the person, the notice,
the rung, every attempt). The WeChat rows held for a follower's next message become the ladder's last rung.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008_reach'
down_revision: str | None = '0007_wechat'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('person_links',
    sa.Column('id', Id, nullable=False),
    sa.Column('identity_id', Id, nullable=False),
    sa.Column('person_id', Id, nullable=False),
    sa.Column('from_person_id', Id, nullable=False),
    sa.Column('tickets', sa.JSON(), nullable=False),
    sa.Column('how', sa.String(length=12), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unlinked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('unlinked_how', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['chat_identities.id'], name=op.f('fk_person_links_identity_id_chat_identities')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_links_person_id_people')),
    sa.ForeignKeyConstraint(['from_person_id'], ['people.id'], name=op.f('fk_person_links_from_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_links'))
    )
    with op.batch_alter_table('person_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_links_identity_id'), ['identity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_links_person_id'), ['person_id'], unique=False)
    op.create_table('link_codes',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', Id, nullable=False),
    sa.Column('identity_id', Id, nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['chat_identities.id'], name=op.f('fk_link_codes_identity_id_chat_identities')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_link_codes_person_id_people')),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_link_codes'))
    )
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_link_codes_person_id'), ['person_id'], unique=False)
    op.create_table('push_subscriptions',
    sa.Column('id', Id, nullable=False),
    sa.Column('identity_id', Id, nullable=False),
    sa.Column('endpoint_hash', sa.String(length=64), nullable=False),
    sa.Column('info_sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['chat_identities.id'], name=op.f('fk_push_subscriptions_identity_id_chat_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
    sa.UniqueConstraint('endpoint_hash', name=op.f('uq_push_subscriptions_endpoint_hash'))
    )
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscriptions_identity_id'), ['identity_id'], unique=False)
    op.create_table('phones',
    sa.Column('person_id', Id, nullable=False),
    sa.Column('phone_sealed', sa.Text(), nullable=False),
    sa.Column('phone_masked', sa.String(length=20), nullable=False),
    sa.Column('landline', sa.Boolean(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_tries', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_phones_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_phones'))
    )
    op.create_table('sms_sent',
    sa.Column('id', Id, nullable=False),
    sa.Column('person_id', Id, nullable=False),
    sa.Column('outbox_id', Id, nullable=True),
    sa.Column('ticket_number', sa.String(length=24), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sms_sent_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_sent')),
    sa.UniqueConstraint('outbox_id', name=op.f('uq_sms_sent_outbox_id'))
    )
    with op.batch_alter_table('sms_sent', schema=None) as batch_op:
        batch_op.create_index('ix_sms_sent_person_day', ['person_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_sms_sent_ticket_number'), ['ticket_number'], unique=False)
    op.create_table('webchat_presence',
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_webchat_presence'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('notice', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('rung', sa.String(length=8), server_default='chat', nullable=False))
        batch_op.add_column(sa.Column('ladder', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_outbox_rung_due', ['rung', 'status', 'not_before'], unique=False)
    # Rows held for a follower's next message wait on the ladder's last rung now.
    op.execute(
        "UPDATE outbox SET rung = 'wait', status = 'waiting' "
        "WHERE status = 'pending' AND id IN (SELECT outbox_id FROM wechat_held)"
    )
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_held_openid'))
    op.drop_table('wechat_held')


def downgrade() -> None:
    op.create_table('wechat_held',
    sa.Column('outbox_id', Id, nullable=False),
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_wechat_held_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('outbox_id', name=op.f('pk_wechat_held'))
    )
    with op.batch_alter_table('wechat_held', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_held_openid'), ['openid'], unique=False)
    op.execute(
        "INSERT INTO wechat_held (outbox_id, openid, held_at) "
        "SELECT id, recipient, created_at FROM outbox WHERE status = 'waiting' AND channel = 'wechat'"
    )
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'waiting'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_rung_due')
        batch_op.drop_index(batch_op.f('ix_outbox_person_id'))
        batch_op.drop_column('ladder')
        batch_op.drop_column('rung')
        batch_op.drop_column('urgent')
        batch_op.drop_column('notice')
        batch_op.drop_column('person_id')
    op.drop_table('webchat_presence')
    with op.batch_alter_table('sms_sent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sms_sent_ticket_number'))
        batch_op.drop_index('ix_sms_sent_person_day')
    op.drop_table('sms_sent')
    op.drop_table('phones')
    with op.batch_alter_table('push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_push_subscriptions_identity_id'))
    op.drop_table('push_subscriptions')
    with op.batch_alter_table('link_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_link_codes_person_id'))
    op.drop_table('link_codes')
    with op.batch_alter_table('person_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_links_person_id'))
        batch_op.drop_index(batch_op.f('ix_person_links_identity_id'))
    op.drop_table('person_links')
