"""A stored tariff version's document never changes; a generation counter of the tariffs in force.

A comparison is stored as its pinned tariff versions and totals and re-rated on read, so a version's
rating content (product, number, validity, document, digest) is refused any UPDATE: only its status
and activation/retirement times move. ``tariff_generation`` is bumped by every change to which
versions exist or are active and to the receipt taxes (re-created if the table is emptied), so a process can keep the tariffs in force
cached and check one row to know whether they are still current.

Revision ID: 0006_quotes3
Revises: 0005_churn
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_quotes3"
down_revision: str | None = "0005_churn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION quotes.tariff_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.product_id IS DISTINCT FROM OLD.product_id OR NEW.version IS DISTINCT FROM OLD.version
             OR NEW.definition IS DISTINCT FROM OLD.definition OR NEW.digest IS DISTINCT FROM OLD.digest
             OR NEW.effective_from IS DISTINCT FROM OLD.effective_from
             OR NEW.effective_to IS DISTINCT FROM OLD.effective_to THEN
            RAISE EXCEPTION 'tariff version % is immutable: import a new version instead', OLD.id
              USING ERRCODE = 'integrity_constraint_violation';
          END IF;
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER tariff_version_immutable BEFORE UPDATE ON quotes.tariff_versions "
        "FOR EACH ROW EXECUTE FUNCTION quotes.tariff_version_immutable()"
    )
    # Generations come from a sequence (never rolled back): a transaction that changed tariffs and
    # rolled back leaves the row at its old value, and no later change can reuse its number.
    op.execute("CREATE SEQUENCE quotes.tariff_generation_seq")
    op.create_table(
        "tariff_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_tariff_generation_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff_generation")),
        schema="quotes",
    )
    op.execute("INSERT INTO quotes.tariff_generation VALUES (1, nextval('quotes.tariff_generation_seq'))")
    op.execute(
        """
        CREATE FUNCTION quotes.bump_tariff_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO quotes.tariff_generation VALUES (1, nextval('quotes.tariff_generation_seq'))
            ON CONFLICT (id) DO UPDATE SET generation = EXCLUDED.generation;
          RETURN NULL;
        END $$
        """
    )
    for table in ("tariff_versions", "receipt_taxes", "carrier_products"):
        op.execute(
            f"CREATE TRIGGER bump_tariff_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON quotes.{table} FOR EACH STATEMENT EXECUTE FUNCTION quotes.bump_tariff_generation()"
        )


def downgrade() -> None:
    for table in ("tariff_versions", "receipt_taxes", "carrier_products"):
        op.execute(f"DROP TRIGGER bump_tariff_generation ON quotes.{table}")
    op.execute("DROP FUNCTION quotes.bump_tariff_generation()")
    op.drop_table("tariff_generation", schema="quotes")
    op.execute("DROP SEQUENCE quotes.tariff_generation_seq")
    op.execute("DROP TRIGGER tariff_version_immutable ON quotes.tariff_versions")
    op.execute("DROP FUNCTION quotes.tariff_version_immutable()")
