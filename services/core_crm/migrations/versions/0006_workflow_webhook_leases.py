"""Workflow webhook calls outside the job's transaction.

A `call_webhook` step is claimed (the execution `running`, its lease in `next_run_at`) and
committed before the call is made, so a `running` execution whose lease ran out is picked up
again: the due-executions index covers `running` too.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _due_index(statuses: str) -> None:
    op.drop_index("ix_workflow_executions_due", table_name="workflow_executions", schema="crm")
    op.create_index(
        "ix_workflow_executions_due",
        "workflow_executions",
        ["next_run_at"],
        schema="crm",
        postgresql_where=sa.text(f"status IN ({statuses})"),
    )


def upgrade() -> None:
    _due_index("'pending', 'waiting', 'retrying', 'running'")


def downgrade() -> None:
    _due_index("'pending', 'waiting', 'retrying'")
