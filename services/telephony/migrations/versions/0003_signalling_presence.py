"""Signalling presence: who is in which call's room, on which API replica.

Revision ID: 0003
Revises: 0002

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signalling_presence",
        sa.Column("call_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("connection_id", sa.String(length=32), nullable=False),
        sa.Column("replica", sa.String(length=32), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["telephony.calls.id"],
            name=op.f("fk_signalling_presence_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", "user_id", name=op.f("pk_signalling_presence")),
        schema="telephony",
    )
    op.create_index(
        "ix_signalling_presence_seen", "signalling_presence", ["seen_at"], unique=False, schema="telephony"
    )


def downgrade() -> None:
    op.drop_index("ix_signalling_presence_seen", table_name="signalling_presence", schema="telephony")
    op.drop_table("signalling_presence", schema="telephony")
