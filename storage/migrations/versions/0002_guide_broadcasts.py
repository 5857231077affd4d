"""the service guide, subscriptions and broadcasts (issue #7)

Revision ID: 0002_guide_broadcasts
Revises: 0001
Create Date: 2026-11-27 11:09:32.099994
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002_guide_broadcasts'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('guide_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('county', sa.String(length=32), nullable=True),
    sa.Column('phone', sa.String(length=64), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guide_entries')),
    sa.UniqueConstraint('code', name=op.f('uq_guide_entries_code'))
    )
    with op.batch_alter_table('guide_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guide_entries_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_guide_entries_county'), ['county'], unique=False)

    op.create_table('guide_words',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('group', sa.String(length=48), nullable=False),
    sa.Column('phrase', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guide_words'))
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic', sa.String(length=24), nullable=False),
    sa.Column('county', sa.String(length=32), nullable=True),
    sa.Column('text_zh', sa.Text(), nullable=False),
    sa.Column('text_en', sa.Text(), nullable=True),
    sa.Column('photo', sa.String(length=255), nullable=True),
    sa.Column('send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approved_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fanned_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fanout_cursor', sa.BigInteger(), nullable=False),
    sa.Column('fanned_out', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('progress_outbox_id', sa.BigInteger(), nullable=True),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_person_id'], ['people.id'], name=op.f('fk_broadcasts_approved_by_person_id_people')),
    sa.ForeignKeyConstraint(['author_person_id'], ['people.id'], name=op.f('fk_broadcasts_author_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broadcasts_status'), ['status'], unique=False)

    op.create_table('guide_terms',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('term', sa.String(length=48), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['guide_entries.id'], name=op.f('fk_guide_terms_entry_id_guide_entries')),
    sa.PrimaryKeyConstraint('entry_id', 'term', name=op.f('pk_guide_terms'))
    )
    with op.batch_alter_table('guide_terms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guide_terms_term'), ['term'], unique=False)

    op.create_table('subscriber_prefs',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('county', sa.String(length=32), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_subscriber_prefs_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_subscriber_prefs'))
    )
    with op.batch_alter_table('subscriber_prefs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_prefs_county'), ['county'], unique=False)

    op.create_table('subscriptions',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_subscriptions_person_id_people')),
    sa.PrimaryKeyConstraint('person_id', 'topic', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_topic'), ['topic'], unique=False)

    op.create_table('broadcast_deliveries',
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_deliveries_broadcast_id_broadcasts')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_broadcast_deliveries_person_id_people')),
    sa.PrimaryKeyConstraint('broadcast_id', 'person_id', name=op.f('pk_broadcast_deliveries'))
    )
    with op.batch_alter_table('broadcast_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_deliveries_person_day', ['person_id', 'day'], unique=False)



def downgrade() -> None:

    with op.batch_alter_table('broadcast_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_deliveries_person_day')

    op.drop_table('broadcast_deliveries')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_topic'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('subscriber_prefs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_prefs_county'))

    op.drop_table('subscriber_prefs')
    with op.batch_alter_table('guide_terms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guide_terms_term'))

    op.drop_table('guide_terms')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_status'))

    op.drop_table('broadcasts')
    op.drop_table('guide_words')
    with op.batch_alter_table('guide_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guide_entries_county'))
        batch_op.drop_index(batch_op.f('ix_guide_entries_category'))

    op.drop_table('guide_entries')
