"""Account mails in threads of their own; unredacted text of secret-bearing messages kept apart.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "conversations",
        sa.Column("kind", sa.String(length=10), server_default=sa.text("'contact'"), nullable=False),
        schema="omnichannel",
    )
    op.drop_constraint(
        "uq_conversations_channel_address", "conversations", schema="omnichannel", type_="unique"
    )
    op.create_unique_constraint(
        "uq_conversations_channel_address_kind",
        "conversations",
        ["channel", "address", "kind"],
        schema="omnichannel",
    )
    op.create_table(
        "sealed_contents",
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["omnichannel.messages.id"],
            name=op.f("fk_sealed_contents_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_sealed_contents")),
        schema="omnichannel",
    )


def downgrade() -> None:
    op.drop_table("sealed_contents", schema="omnichannel")
    op.drop_constraint(
        "uq_conversations_channel_address_kind", "conversations", schema="omnichannel", type_="unique"
    )
    op.create_unique_constraint(
        "uq_conversations_channel_address", "conversations", ["channel", "address"], schema="omnichannel"
    )
    op.drop_column("conversations", "kind", schema="omnichannel")
