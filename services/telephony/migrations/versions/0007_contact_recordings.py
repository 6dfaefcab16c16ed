"""Recording consent on the call, and recordings kept in the platform's object store.

Revision ID: 0007_contact
Revises: 0006_contact

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_contact"
down_revision: str | None = "0006_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("recording_consent", sa.String(length=10)), schema="telephony")
    op.add_column("calls", sa.Column("recording_key", sa.String(length=300)), schema="telephony")
    op.add_column("calls", sa.Column("recording_sha256", sa.String(length=64)), schema="telephony")
    op.add_column("calls", sa.Column("recording_size", sa.BigInteger()), schema="telephony")
    op.add_column("calls", sa.Column("recording_archived_at", sa.DateTime(timezone=True)), schema="telephony")
    op.create_check_constraint(
        op.f("ck_calls_recording_consent"),
        "calls",
        "recording_consent IN ('given', 'refused')",
        schema="telephony",
    )


def downgrade() -> None:
    op.drop_constraint("ck_calls_recording_consent", "calls", schema="telephony", type_="check")
    for column in ("recording_archived_at", "recording_size", "recording_sha256", "recording_key", "recording_consent"):
        op.drop_column("calls", column, schema="telephony")
