"""Async SQLAlchemy engine/session lifecycle: one engine per process, one transaction per request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from aintech_shared.errors import AppError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def schema_metadata(schema: str) -> MetaData:
    """MetaData bound to one service schema, with stable constraint names for Alembic.

    A service declares its typed base once::

        class Base(DeclarativeBase):
            metadata = schema_metadata(Settings.db_schema)
    """
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


class Database:
    """Owns the engine and the session factory of one service process."""

    def __init__(self, url: str, *, schema: str, pool_size: int = 10, echo: bool = False) -> None:
        self.schema = schema
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
            connect_args={"server_settings": {"search_path": schema, "timezone": "UTC"}},
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits on success and rolls back on any error, except a refusal
        raised with ``keep_changes=True``: its writes commit, then it propagates."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except AppError as exc:
                await (session.commit() if exc.keep_changes else session.rollback())
                raise
            except BaseException:
                await session.rollback()
                raise

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _request_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[AsyncSession]:
    async with db.transaction() as session:
        yield session


# Commits once after the endpoint returns and before the response is sent, so a failed commit
# becomes an error response instead of a success the client was already told about.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
