"""Initial schema: messaging tables (outbox, processed events, scheduled jobs).

Revision ID: 0001
Revises:
"""

from aintech_shared.migrations import create_messaging_tables, drop_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables("auth")


def downgrade() -> None:
    drop_messaging_tables("auth")
