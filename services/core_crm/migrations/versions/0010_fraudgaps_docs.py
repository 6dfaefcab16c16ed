"""Claim documents hold uploaded files: the object key, SHA-256 and size (the bytes are in the object store).

Documents recorded before uploads existed keep their external URL and have no object.

Revision ID: 0010_fraudgaps_docs
Revises: 0013_trail
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_fraudgaps_docs"
down_revision: str | None = "0013_trail"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("claim_documents", "url", existing_type=sa.String(500), nullable=True, schema="crm")
    op.add_column("claim_documents", sa.Column("object_key", sa.String(300)), schema="crm")
    op.add_column("claim_documents", sa.Column("sha256", sa.String(64)), schema="crm")
    op.add_column("claim_documents", sa.Column("size", sa.BigInteger()), schema="crm")
    op.create_unique_constraint(
        op.f("uq_claim_documents_object_key"), "claim_documents", ["object_key"], schema="crm"
    )
    op.create_check_constraint(
        op.f("ck_claim_documents_stored_or_linked"),
        "claim_documents",
        "(object_key IS NOT NULL AND sha256 IS NOT NULL AND size IS NOT NULL) OR url IS NOT NULL",
        schema="crm",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_claim_documents_stored_or_linked"), "claim_documents", schema="crm")
    op.drop_constraint(op.f("uq_claim_documents_object_key"), "claim_documents", schema="crm")
    op.drop_column("claim_documents", "size", schema="crm")
    op.drop_column("claim_documents", "sha256", schema="crm")
    op.drop_column("claim_documents", "object_key", schema="crm")
    op.execute("DELETE FROM crm.claim_documents WHERE url IS NULL")
    op.alter_column("claim_documents", "url", existing_type=sa.String(500), nullable=False, schema="crm")
