"""A recorded live call's real-time transcription at the provider (its SID): requested once per
recording by the worker, its callbacks accepted only for that SID.

Revision ID: 0009_cc2_transcribe
Revises: 0008_cc2_assign

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_cc2_transcribe"
down_revision: str | None = "0008_cc2_assign"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("transcription_sid", sa.String(length=64)), schema="telephony")
    op.create_index(
        "ix_calls_transcription_pending",
        "calls",
        ["id"],
        schema="telephony",
        postgresql_where=sa.text("transcription_status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_transcription_pending", table_name="calls", schema="telephony")
    op.drop_column("calls", "transcription_sid", schema="telephony")
