"""The migrations build exactly the tables the models declare (a model change without a migration,
or a migration the models do not know about, fails here)."""

from __future__ import annotations

from aintech_devtools.schema import migration_drift
from analytics.models import Base


async def test_migrations_match_the_models(admin_database_url: str) -> None:
    differences = await migration_drift(admin_database_url, Base.metadata)
    assert differences == [], "\n".join(map(str, differences))
