"""The waiting line's index covers the whole serving order (priority, age, id), so the one-statement
assignment walks callers in order from the index and stops at the first one it can serve.

Revision ID: 0008_cc2_assign
Revises: 0007_contact

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_cc2_assign"
down_revision: str | None = "0007_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("state = 'waiting'")


def upgrade() -> None:
    op.drop_index("ix_call_queue_waiting_order", table_name="call_queue", schema="telephony")
    op.create_index(
        "ix_call_queue_waiting_order",
        "call_queue",
        [sa.literal_column("priority DESC"), "enqueued_at", "id"],
        schema="telephony",
        postgresql_where=WAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_call_queue_waiting_order", table_name="call_queue", schema="telephony")
    op.create_index(
        "ix_call_queue_waiting_order",
        "call_queue",
        [sa.literal_column("priority DESC"), "enqueued_at"],
        schema="telephony",
        postgresql_where=WAITING,
    )
