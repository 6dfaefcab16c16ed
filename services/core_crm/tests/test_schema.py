"""The migrations build exactly the tables the models declare (a model change without a migration,
or a migration the models do not know about, fails here)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from aintech_devtools.testing import CommittedDatabase
from core_crm.models import Base


def _differences(connection: Connection) -> list[Any]:
    schema = Base.metadata.schema

    def include_name(name: str | None, type_: str, _: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        return not (type_ == "table" and name == "alembic_version")

    context = MigrationContext.configure(
        connection,
        opts={"include_schemas": True, "include_name": include_name, "compare_type": True},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(live_database: CommittedDatabase) -> None:
    async with live_database.engine.connect() as conn:
        differences = await conn.run_sync(_differences)
    assert differences == []
