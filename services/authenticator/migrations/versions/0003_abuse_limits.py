"""Step-up and abuse limits: when a session last proved its password, e-mail change links, and
fixed-window counters for the flows that send e-mail.

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
    op.add_column(
        "sessions",
        sa.Column("authenticated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=True),
        schema="auth",
    )
    op.execute("UPDATE auth.sessions SET authenticated_at = created_at")
    op.alter_column("sessions", "authenticated_at", nullable=False, schema="auth")

    op.add_column("one_time_tokens", sa.Column("email", sa.String(length=320), nullable=True), schema="auth")
    op.add_column("one_time_tokens", sa.Column("session_id", sa.UUID(), nullable=True), schema="auth")
    op.create_foreign_key(
        op.f("fk_one_time_tokens_session_id_sessions"),
        "one_time_tokens",
        "sessions",
        ["session_id"],
        ["id"],
        source_schema="auth",
        referent_schema="auth",
        ondelete="SET NULL",
    )
    op.drop_constraint(op.f("ck_one_time_tokens_purpose"), "one_time_tokens", schema="auth", type_="check")
    op.create_check_constraint(
        op.f("ck_one_time_tokens_purpose"),
        "one_time_tokens",
        "purpose IN ('email_verification', 'password_reset', 'email_change')",
        schema="auth",
    )

    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
        schema="auth",
    )
    op.create_index(
        "ix_rate_limits_window_started_at", "rate_limits", ["window_started_at"], unique=False, schema="auth"
    )


def downgrade() -> None:
    op.drop_index("ix_rate_limits_window_started_at", table_name="rate_limits", schema="auth")
    op.drop_table("rate_limits", schema="auth")
    op.execute("DELETE FROM auth.one_time_tokens WHERE purpose = 'email_change'")
    op.drop_constraint(op.f("ck_one_time_tokens_purpose"), "one_time_tokens", schema="auth", type_="check")
    op.create_check_constraint(
        op.f("ck_one_time_tokens_purpose"),
        "one_time_tokens",
        "purpose IN ('email_verification', 'password_reset')",
        schema="auth",
    )
    op.drop_constraint(
        op.f("fk_one_time_tokens_session_id_sessions"), "one_time_tokens", schema="auth", type_="foreignkey"
    )
    op.drop_column("one_time_tokens", "session_id", schema="auth")
    op.drop_column("one_time_tokens", "email", schema="auth")
    op.drop_column("sessions", "authenticated_at", schema="auth")
