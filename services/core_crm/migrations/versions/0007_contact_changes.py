"""A customer's own phone, mobile or e-mail change waits for the code sent to the new one.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contact_changes",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("field", sa.String(length=10), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("field IN ('phone', 'mobile', 'email')", name=op.f("ck_contact_changes_field")),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["crm.customers.id"],
            name=op.f("fk_contact_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_changes")),
        schema="crm",
    )
    op.create_index(
        "ix_contact_changes_customer",
        "contact_changes",
        ["customer_id", "requested_at"],
        unique=False,
        schema="crm",
    )


def downgrade() -> None:
    op.drop_index("ix_contact_changes_customer", table_name="contact_changes", schema="crm")
    op.drop_table("contact_changes", schema="crm")
