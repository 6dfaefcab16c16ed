"""Unique indexes of customers named after their field (uq_customers_email, uq_customers_dni).

A race between two requests that both passed the duplicate check ends at the unique index; the
shared handler names the field from the index's conventional name when the key is an expression
(`lower(email)`), so the name must be `uq_<table>_<field>`.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER INDEX crm.uq_customers_email_live RENAME TO uq_customers_email")
    op.execute("ALTER INDEX crm.uq_customers_dni_live RENAME TO uq_customers_dni")


def downgrade() -> None:
    op.execute("ALTER INDEX crm.uq_customers_dni RENAME TO uq_customers_dni_live")
    op.execute("ALTER INDEX crm.uq_customers_email RENAME TO uq_customers_email_live")
