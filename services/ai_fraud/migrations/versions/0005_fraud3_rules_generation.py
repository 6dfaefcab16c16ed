"""The rules' generation: a number that changes with every change to `fraud.rules`, never reused.

Scoring keeps the enabled rules in process and reads this number in the statement that reads the
claim; a different number (a rule created, edited, enabled or disabled, committed by any replica)
reloads them. It is drawn from a sequence, which a rolled-back change does not give back, so a
number once seen always means the same rules. A statement-level trigger sets it, so no write path
to the table can forget to.

Revision ID: 0005_fraud3
Revises: 0004_fraud2
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_fraud3'
down_revision: str | None = '0004_fraud2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE fraud.rules_generation_seq")
    op.create_table(
        'rules_generation',
        sa.Column('name', sa.String(length=20), nullable=False),
        sa.Column('generation', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_rules_generation')),
        schema='fraud',
    )
    op.execute("INSERT INTO fraud.rules_generation (name, generation) VALUES ('rules', nextval('fraud.rules_generation_seq'))")
    op.execute(
        """
        CREATE FUNCTION fraud.bump_rules_generation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE fraud.rules_generation SET generation = nextval('fraud.rules_generation_seq')
            WHERE name = 'rules';
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER rules_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON fraud.rules "
        "FOR EACH STATEMENT EXECUTE FUNCTION fraud.bump_rules_generation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER rules_generation ON fraud.rules")
    op.execute("DROP FUNCTION fraud.bump_rules_generation()")
    op.drop_table('rules_generation', schema='fraud')
    op.execute("DROP SEQUENCE fraud.rules_generation_seq")
