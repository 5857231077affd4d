"""issue #17: ledger, clusters, dashboard sessions

Revision ID: 0011_ledger
Revises: 0010_privacy
Create Date: 2026-12-02 02:00:00

What tickets share and the clusters they form (未诉先办), how often citizens asked for each convenience measure, the
dashboard's one-time links and sessions, and the chart images /ledger sends.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011_ledger'
down_revision: str | None = '0010_privacy'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('measure_asks',
    sa.Column('entry_code', sa.String(length=64), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('way', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entry_code', 'day', 'way', name=op.f('pk_measure_asks'))
    )
    with op.batch_alter_table('measure_asks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measure_asks_day'), ['day'], unique=False)

    op.create_table('chart_images',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_chart_images_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chart_images')),
    sa.UniqueConstraint('name', name=op.f('uq_chart_images_name'))
    )
    with op.batch_alter_table('chart_images', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chart_images_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_chart_images_person_id'), ['person_id'], unique=False)

    op.create_table('clusters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joint_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('joint_by_person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['joint_by_person_id'], ['people.id'], name=op.f('fk_clusters_joint_by_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters'))
    )
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.create_index('ix_clusters_key', ['kind', 'key_hash', 'last_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_clusters_last_at'), ['last_at'], unique=False)

    op.create_table('dashboard_passes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dashboard_passes_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_passes')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_passes_token_hash'))
    )
    with op.batch_alter_table('dashboard_passes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_passes_person_id'), ['person_id'], unique=False)

    op.create_table('dashboard_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_dashboard_sessions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_dashboard_sessions_token_hash'))
    )
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_sessions_person_id'), ['person_id'], unique=False)

    op.create_table('cluster_alerts',
    sa.Column('cluster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_alerts_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cluster_alerts_unit_id_units')),
    sa.PrimaryKeyConstraint('cluster_id', 'unit_id', name=op.f('pk_cluster_alerts'))
    )
    op.create_table('cluster_keys',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_cluster_keys_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', 'kind', 'key_hash', name=op.f('pk_cluster_keys'))
    )
    with op.batch_alter_table('cluster_keys', schema=None) as batch_op:
        batch_op.create_index('ix_cluster_keys_key', ['kind', 'key_hash', 'created_at'], unique=False)

    op.create_table('cluster_members',
    sa.Column('cluster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_cluster_members_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_cluster_members_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cluster_members_unit_id_units')),
    sa.PrimaryKeyConstraint('cluster_id', 'ticket_id', name=op.f('pk_cluster_members'))
    )
    with op.batch_alter_table('cluster_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cluster_members_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cluster_members_unit_id'), ['unit_id'], unique=False)


    # The ledger's pass over a year of tickets: a covering index (PostgreSQL reads it alone), and the granted relief.
    relief = sa.text("kind = 'relief' AND outcome = 'relief_granted'")
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_ledger', ['created_at'], unique=False, postgresql_include=[
            'unit_id', 'kind', 'category', 'county', 'status', 'outcome', 'claim_due_at', 'claimed_at', 'due_at',
            'resolved_at', 'rating_treatment', 'rating_solved'])
        batch_op.create_index('ix_tickets_relief', ['created_at'], unique=False, postgresql_where=relief,
                              sqlite_where=relief)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_relief')
        batch_op.drop_index('ix_tickets_ledger')
    with op.batch_alter_table('cluster_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cluster_members_unit_id'))
        batch_op.drop_index(batch_op.f('ix_cluster_members_ticket_id'))

    op.drop_table('cluster_members')
    with op.batch_alter_table('cluster_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_cluster_keys_key')

    op.drop_table('cluster_keys')
    op.drop_table('cluster_alerts')
    with op.batch_alter_table('dashboard_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_sessions_person_id'))

    op.drop_table('dashboard_sessions')
    with op.batch_alter_table('dashboard_passes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_passes_person_id'))

    op.drop_table('dashboard_passes')
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clusters_last_at'))
        batch_op.drop_index('ix_clusters_key')

    op.drop_table('clusters')
    with op.batch_alter_table('chart_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chart_images_person_id'))
        batch_op.drop_index(batch_op.f('ix_chart_images_created_at'))

    op.drop_table('chart_images')
    with op.batch_alter_table('measure_asks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measure_asks_day'))

    op.drop_table('measure_asks')
