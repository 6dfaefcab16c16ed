"""Do a service's migrations build exactly the tables its models declare (and the CHECK constraints
the status vocabularies)?"""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


def _drift(connection: Connection, metadata: MetaData) -> list[Any]:
    schema = metadata.schema

    def include_name(name: str | None, type_: str, _: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        return not (type_ == "table" and name == "alembic_version")

    context = MigrationContext.configure(
        connection,
        opts={"include_schemas": True, "include_name": include_name, "compare_type": True},
    )
    return list(compare_metadata(context, metadata))


async def migration_drift(database_url: str, metadata: MetaData) -> list[Any]:
    """Alembic's differences between ``metadata`` (a service's models, one schema) and that schema as
    the migrations left it in the database at ``database_url``: empty when they agree."""
    engine = create_async_engine(make_url(database_url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as conn:  # the default search path: schemas compared by name
            return await conn.run_sync(_drift, metadata)
    finally:
        await engine.dispose()


async def check_constraint_values(database_url: str, *, schema: str, table: str, name: str) -> set[str]:
    """The values CHECK constraint ``ck_<table>_<name>`` of ``schema.table`` allows, as the
    migrations left it in the database (``status IN ('a', 'b')`` -> ``{"a", "b"}``)."""
    engine = create_async_engine(make_url(database_url).set(drivername="postgresql+asyncpg"))
    try:
        async with engine.connect() as conn:
            definition = (
                await conn.execute(
                    text(
                        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
                        " JOIN pg_class t ON t.oid = c.conrelid"
                        " JOIN pg_namespace n ON n.oid = t.relnamespace"
                        " WHERE n.nspname = :schema AND t.relname = :table AND c.conname = :name"
                        " AND c.contype = 'c'"
                    ),
                    {"schema": schema, "table": table, "name": f"ck_{table}_{name}"},
                )
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    if definition is None:
        raise LookupError(f"no CHECK constraint ck_{table}_{name} on {schema}.{table}")
    return set(re.findall(r"'((?:[^']|'')*)'", definition))
