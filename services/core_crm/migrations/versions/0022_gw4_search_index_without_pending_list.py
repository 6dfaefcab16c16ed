"""The name-search trigram index without GIN's pending list (``fastupdate = off``).

With ``fastupdate`` on (Postgres' default), new index entries wait in an unsorted pending list of
up to ``gin_pending_list_limit`` (4 MB: ~9,000 customers' trigrams) until a vacuum merges them,
and every search through the index reads the whole list: a two-word name search over 100k
customers took 19 ms with a full list against 2.5 ms without (decision 0081). Off, each write
merges its own entries (the customer writes pay; the searches, far more frequent, do not).
The pending list already there is merged now. Nothing changes for the btree fallback index
(installations without ``pg_trgm``).

Revision ID: 0022_gw4
Revises: 0021_scrap2
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_gw4"
down_revision: str | None = "0021_scrap2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IS_GIN = sa.text(
    "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = 'crm' AND c.relname = 'ix_customers_search_trgm' AND a.amname = 'gin'"
)


def upgrade() -> None:
    if op.get_bind().scalar(_IS_GIN):
        op.execute("ALTER INDEX crm.ix_customers_search_trgm SET (fastupdate = off)")
        op.execute("SELECT gin_clean_pending_list('crm.ix_customers_search_trgm'::regclass)")


def downgrade() -> None:
    if op.get_bind().scalar(_IS_GIN):
        op.execute("ALTER INDEX crm.ix_customers_search_trgm RESET (fastupdate)")
