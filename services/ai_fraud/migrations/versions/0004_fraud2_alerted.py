"""A claim's score remembers when its one fraud alert was raised.

Revision ID: 0004_fraud2
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_fraud2'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('scores', sa.Column('alerted_at', sa.DateTime(timezone=True), nullable=True), schema='fraud')
    # Scores already in the high band sent their alert when they entered it.
    op.execute("UPDATE fraud.scores SET alerted_at = scored_at WHERE band = 'high'")


def downgrade() -> None:
    op.drop_column('scores', 'alerted_at', schema='fraud')
