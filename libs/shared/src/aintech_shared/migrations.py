"""Alembic environment shared by every service: one schema, its own version table, async engine."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine


def run_migrations(metadata: MetaData, url: str) -> None:
    """Body of a service's ``migrations/env.py``: migrate only ``metadata.schema``."""
    schema = metadata.schema
    assert schema, "service metadata must be bound to its schema"

    def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
        if type_ == "schema":
            return name == schema
        return True

    options: dict[str, Any] = {
        "target_metadata": metadata,
        "version_table_schema": schema,
        "include_schemas": True,
        "include_name": include_name,
        "compare_type": True,
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        # The service role's default search_path is its schema; reset it so Alembic does not take
        # that schema for the default one (autogenerate would then see every table as new).
        engine = create_async_engine(
            url, poolclass=pool.NullPool, connect_args={"server_settings": {"search_path": "public"}}
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(run_async())


def create_messaging_tables(schema: str) -> None:
    """Initial-migration step: outbox, processed_events and scheduled_jobs in ``schema``."""
    from alembic import op

    from aintech_shared.db import schema_metadata
    from aintech_shared.events.tables import messaging_tables

    tables = messaging_tables(schema_metadata(schema))
    bind = op.get_bind()
    for table in (tables.outbox, tables.processed_events, tables.scheduled_jobs):
        table.create(bind)


def drop_messaging_tables(schema: str) -> None:
    """Reverse of :func:`create_messaging_tables`."""
    from alembic import op

    for name in ("scheduled_jobs", "processed_events", "outbox"):
        op.drop_table(name, schema=schema)


def create_idempotency_table(schema: str) -> None:
    """Migration step: the ``idempotency_keys`` table (:mod:`aintech_shared.idempotency`)."""
    from alembic import op

    from aintech_shared.db import schema_metadata
    from aintech_shared.idempotency import idempotency_table

    idempotency_table(schema_metadata(schema)).create(op.get_bind())


def drop_idempotency_table(schema: str) -> None:
    """Reverse of :func:`create_idempotency_table`."""
    from alembic import op

    op.drop_table("idempotency_keys", schema=schema)
