"""Change history: who changed which field of a customer, policy, claim, quote, task or workflow.

Rows are written by triggers on the tracked tables, so they are part of the very transaction that
made the change (a rolled-back change leaves none) and no code path can change a record unrecorded.
Who and through what (request id, event id) come from transaction-local settings the service sets
at the start of each transaction (``crm.trail_*``, see core_crm/core/actor.py).

Revision ID: 0010_trail
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010_trail"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRACKED = {
    "customers": "customer",
    "policies": "policy",
    "claims": "claim",
    "quotes": "quote",
    "tasks": "task",
    "workflows": "workflow",
}

# Bookkeeping columns: the row itself says who and when, the version is the ETag.
IGNORED = ("version", "updated_at", "created_at", "updated_by", "search_text")

FUNCTION = f"""
CREATE OR REPLACE FUNCTION crm.record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := '{{}}'::jsonb;
    new_row jsonb := '{{}}'::jsonb;
    changed jsonb := '{{}}'::jsonb;
    field text;
    actor text := NULLIF(current_setting('crm.trail_actor_id', true), '');
    row_id uuid;
    owner uuid;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    FOR field IN SELECT jsonb_object_keys(old_row || new_row) LOOP
        CONTINUE WHEN field = ANY (ARRAY{list(IGNORED)!r}::text[]);
        IF (old_row -> field) IS DISTINCT FROM (new_row -> field)
           AND NOT (TG_OP = 'INSERT' AND new_row -> field = 'null'::jsonb) THEN
            changed := changed || jsonb_build_object(
                field, jsonb_build_object('old', old_row -> field, 'new', new_row -> field));
        END IF;
    END LOOP;
    IF changed = '{{}}'::jsonb THEN
        RETURN NULL;
    END IF;
    row_id := COALESCE(new_row ->> 'id', old_row ->> 'id')::uuid;
    owner := CASE WHEN TG_ARGV[0] = 'customer' THEN row_id
                  ELSE COALESCE(new_row ->> 'customer_id', old_row ->> 'customer_id')::uuid END;
    INSERT INTO crm.change_history (
        id, entity, entity_id, customer_id, operation, changes,
        actor_type, actor_id, actor_role, request_id, event_id, event_type, changed_at
    ) VALUES (
        gen_random_uuid(), TG_ARGV[0], row_id, owner,
        CASE TG_OP WHEN 'INSERT' THEN 'created' WHEN 'UPDATE' THEN 'updated' ELSE 'deleted' END,
        changed,
        CASE WHEN actor IS NULL THEN 'system' ELSE 'user' END,
        actor::uuid,
        NULLIF(current_setting('crm.trail_actor_role', true), ''),
        NULLIF(current_setting('crm.trail_request_id', true), ''),
        NULLIF(current_setting('crm.trail_event_id', true), ''),
        NULLIF(current_setting('crm.trail_event_type', true), ''),
        clock_timestamp()
    );
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "change_history",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("operation", sa.String(length=10), nullable=False),
        sa.Column("changes", JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("actor_role", sa.String(length=20), nullable=True),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("event_id", sa.String(length=100), nullable=True),
        sa.Column("event_type", sa.String(length=100), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "entity IN ('customer', 'policy', 'claim', 'quote', 'task', 'workflow')",
            name=op.f("ck_change_history_entity"),
        ),
        sa.CheckConstraint(
            "operation IN ('created', 'updated', 'deleted')", name=op.f("ck_change_history_operation")
        ),
        sa.CheckConstraint("actor_type IN ('user', 'system')", name=op.f("ck_change_history_actor_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_history")),
        schema="crm",
    )
    op.create_index(
        "ix_change_history_entity",
        "change_history",
        ["entity", "entity_id", "changed_at", "id"],
        unique=False,
        schema="crm",
    )
    op.create_index("ix_change_history_customer", "change_history", ["customer_id"], unique=False, schema="crm")
    op.execute(FUNCTION)
    for table, entity in TRACKED.items():
        op.execute(
            f"CREATE TRIGGER trail_{table} AFTER INSERT OR UPDATE OR DELETE ON crm.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION crm.record_change('{entity}')"
        )


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS trail_{table} ON crm.{table}")
    op.execute("DROP FUNCTION IF EXISTS crm.record_change()")
    op.drop_index("ix_change_history_customer", table_name="change_history", schema="crm")
    op.drop_index("ix_change_history_entity", table_name="change_history", schema="crm")
    op.drop_table("change_history", schema="crm")
