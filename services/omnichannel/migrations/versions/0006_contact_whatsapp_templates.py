"""WhatsApp templates (content SID and variables) per purpose and language.

Revision ID: 0006_contact
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_contact"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=False),
        sa.Column(
            "variables", postgresql.ARRAY(sa.String(length=50)), server_default=sa.text("'{}'"), nullable=False
        ),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rejection_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("purpose", "language", name="uq_whatsapp_templates_purpose_language"),
        schema="omnichannel",
    )
    op.create_index(
        "ix_omnichannel_whatsapp_templates_content_sid", "whatsapp_templates", ["content_sid"], schema="omnichannel"
    )


def downgrade() -> None:
    op.drop_index("ix_omnichannel_whatsapp_templates_content_sid", table_name="whatsapp_templates", schema="omnichannel")
    op.drop_table("whatsapp_templates", schema="omnichannel")
