"""A comparison's stored documents and its event are compressed with lz4 when Postgres has it.

A comparison writes ~16 KB of pins (``calculations.result``) and a ~23 KB ``quote.calculated``
event (``outbox.payload``); both are TOASTed and were compressed with Postgres' default, pglz,
the largest share of Postgres' CPU per comparison (decision 0088). lz4 compresses them at a
fraction of that cost and is read back the same: the columns keep their type (``jsonb``) and
their text, so nothing that reads them changes. Only values written from now on use it; a
Postgres built without lz4 keeps pglz (the statement is skipped, with a notice).

Revision ID: 0007_quotes5
Revises: 0006_quotes3
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_quotes5"
down_revision: str | None = "0006_quotes3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("calculations", "request"), ("calculations", "result"), ("outbox", "payload"))


def _compress(method: str) -> None:
    alters = "; ".join(
        f"ALTER TABLE quotes.{table} ALTER COLUMN {column} SET COMPRESSION {method}" for table, column in COLUMNS
    )
    op.execute(
        f"""
        DO $$
        BEGIN
          {alters};
        EXCEPTION WHEN feature_not_supported THEN
          RAISE NOTICE 'compression {method} is not supported by this server: pglz kept';
        END $$
        """
    )


def upgrade() -> None:
    _compress("lz4")


def downgrade() -> None:
    _compress("pglz")
