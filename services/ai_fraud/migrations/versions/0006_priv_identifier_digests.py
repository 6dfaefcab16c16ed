"""Customers' DNI/NIE and IBAN as the CRM's keyed digests: the clear values go.

The customer events carry ``dni_digest``/``iban_digest`` (HMAC-SHA256 under a key ai-fraud does not
hold) and the last characters instead of the values (docs/decisions/0096). The clear columns are
dropped, and so are the DNI and IBAN rows of the identifier index (they held the values). Without
the key the existing rows cannot be turned into digests: a customer's DNI/IBAN links come back with
the customer's next event. What can be kept is kept: the last four characters of the IBAN (so a
later event telling the same account is not taken for a change of account) and the last three of
the DNI.

Revision ID: 0006_priv
Revises: 0005_fraud3
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_priv'
down_revision: str | None = '0005_fraud3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _compact(column: str) -> str:
    return f"upper(regexp_replace({column}, '[^0-9A-Za-z]', '', 'g'))"


def upgrade() -> None:
    for name, length in (("dni_digest", 64), ("dni_last3", 3), ("iban_digest", 64), ("iban_last4", 4)):
        op.add_column('customers', sa.Column(name, sa.String(length=length), nullable=True), schema='fraud')
    op.execute(
        f"UPDATE fraud.customers SET iban_last4 = right({_compact('iban')}, 4) "
        f"WHERE length({_compact('iban')}) > 4"
    )
    op.execute(
        f"UPDATE fraud.customers SET dni_last3 = right({_compact('dni')}, 3) "
        f"WHERE length({_compact('dni')}) > 3"
    )
    op.execute("DELETE FROM fraud.identifiers WHERE kind IN ('dni', 'iban')")
    op.drop_column('customers', 'dni', schema='fraud')
    op.drop_column('customers', 'iban', schema='fraud')


def downgrade() -> None:
    # The values are not coming back: the columns return empty.
    op.add_column('customers', sa.Column('dni', sa.String(length=20), nullable=True), schema='fraud')
    op.add_column('customers', sa.Column('iban', sa.String(length=42), nullable=True), schema='fraud')
    op.execute("DELETE FROM fraud.identifiers WHERE kind IN ('dni', 'iban')")
    for name in ("iban_last4", "iban_digest", "dni_last3", "dni_digest"):
        op.drop_column('customers', name, schema='fraud')
