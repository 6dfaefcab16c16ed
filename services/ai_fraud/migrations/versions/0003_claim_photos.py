"""Claim photos: perceptual hashes, EXIF and near-duplicate findings.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('photos',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('claim_id', sa.UUID(), nullable=False),
    sa.Column('customer_id', sa.UUID(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('phash', sa.BigInteger(), nullable=False),
    sa.Column('dhash', sa.BigInteger(), nullable=False),
    sa.Column('exif', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('findings', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photos')),
    sa.UniqueConstraint('claim_id', 'sha256', name='uq_photos_claim_sha'),
    schema='fraud'
    )
    op.create_index('ix_photos_claim', 'photos', ['claim_id'], unique=False, schema='fraud')
    op.create_index('ix_photos_seq', 'photos', ['seq'], unique=True, schema='fraud')


def downgrade() -> None:
    op.drop_index('ix_photos_seq', table_name='photos', schema='fraud')
    op.drop_index('ix_photos_claim', table_name='photos', schema='fraud')
    op.drop_table('photos', schema='fraud')
