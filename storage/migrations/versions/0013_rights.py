"""issue #16: data rights (copy, correction, deletion, retention)

Revision ID: 0013_rights
Revises: 0012_capacity
Create Date: 2026-12-02 06:30:00

Copies of what is held about a person, fetched once (PIPL Art. 45); the tickets whose personal data was erased, at
the person's request (Art. 47) or when their term ran out (Art. 19), with the record a law requires kept sealed; and
an index for the retention job's daily question (the tickets of a kind closed before its term began).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013_rights'
down_revision: str | None = '0012_capacity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_copies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('body_sealed', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_data_copies_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_copies')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_data_copies_token_hash'))
    )
    with op.batch_alter_table('data_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_copies_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_copies_person_id'), ['person_id'], unique=False)

    op.create_table('ticket_erasures',
    sa.Column('ticket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('why', sa.String(length=12), nullable=False),
    sa.Column('kept_sealed', sa.Text(), nullable=True),
    sa.Column('kept_basis', sa.String(length=120), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_erasures_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_erasures'))
    )
    with op.batch_alter_table('ticket_erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_erasures_erased_at'), ['erased_at'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_kind_closed', ['kind', 'closed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_kind_closed')
    with op.batch_alter_table('ticket_erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_erasures_erased_at'))
    op.drop_table('ticket_erasures')
    with op.batch_alter_table('data_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_copies_person_id'))
        batch_op.drop_index(batch_op.f('ix_data_copies_expires_at'))
    op.drop_table('data_copies')
