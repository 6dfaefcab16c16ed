"""The migrations build exactly the tables the models declare."""

from __future__ import annotations

from aintech_devtools.schema import migration_drift
from scraper.models import Base


async def test_migrations_match_the_models(admin_database_url: str) -> None:
    differences = await migration_drift(admin_database_url, Base.metadata)
    assert differences == [], "\n".join(map(str, differences))
