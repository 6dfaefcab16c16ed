"""Async SQLAlchemy engine/session lifecycle: one engine per process, one transaction per request.

Two request dependencies:

* ``DbSession`` — the write session: one transaction per request, committed once after the
  endpoint returns (rolled back on error);
* ``ReadSession`` / ``ReadConnection`` — for GET endpoints: an ORM session, or a bare Core
  connection (the leaner of the two, for hot reads), on a second, read-only pool whose
  connections run in autocommit (no BEGIN/COMMIT round trips) with
  ``default_transaction_read_only`` set at connect time, so a write through them is refused by
  Postgres instead of committed.

For the hottest reads, :class:`LeanSelect` compiles a Core SELECT once and runs it with asyncpg on
the connection under a ``ReadConnection`` (same read-only pool and session settings), returning
asyncpg records: no per-call statement compilation, cache-key generation or result processing.

No pool pre-ping: a pooled connection that the client already knows is closed (Postgres restarted
or dropped it) is replaced at checkout without a round trip, and a connection that dies under a
query is invalidated by SQLAlchemy's disconnect handling, which also recycles every older
connection of the pool — a restart costs at most the requests in flight on the dead sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Select, event, exc, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from aintech_shared.errors import AppError

ReadConnect = AbstractAsyncContextManager[AsyncConnection]

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
    """Owns the engines (read-write and read-only) and the session factories of one service process."""

    def __init__(self, url: str, *, schema: str, pool_size: int = 10, echo: bool = False) -> None:
        self.schema = schema
        settings = {"search_path": schema, "timezone": "UTC"}
        self.engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            echo=echo,
            connect_args={"server_settings": settings},
        )
        # Connections are opened on first use: a service that never reads through ReadSession
        # never opens one of these.
        self.read_engine: AsyncEngine = create_async_engine(
            url,
            pool_size=pool_size,
            # No overflow: under sustained load overflow connections are opened and closed over
            # and over (a Postgres backend fork each); short reads queue for a pooled one instead.
            max_overflow=0,
            echo=echo,
            isolation_level="AUTOCOMMIT",
            pool_reset_on_return=None,  # autocommit: no transaction is ever left to roll back
            connect_args={"server_settings": {**settings, "default_transaction_read_only": "on"}},
        )
        for engine in (self.engine, self.read_engine):
            event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
            event.listen(engine.sync_engine, "handle_error", _broken_connection)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False, autoflush=False)
        # Swapped by the test helper that binds everything to one rolled-back connection.
        self.read_connect: Callable[[], ReadConnect] = self.read_engine.connect

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

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session: autocommit, no transaction round trips; writes are refused."""
        async with self.read_sessionmaker() as session:
            yield session

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """A read-only Core connection: the leanest way to run a hot SELECT."""
        async with self.read_connect() as conn:
            yield conn

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.read_engine.dispose()


_ASYNCPG = asyncpg_dialect()


class LeanSelect:
    """A Core SELECT compiled once for asyncpg, run on the driver connection of a read connection.

    Parameters are ``bindparam("name")`` placeholders in the statement, passed by name to
    :meth:`fetch` / :meth:`fetchrow`. Values come back as asyncpg decodes them (``jsonb`` as
    Python objects, ``uuid`` as asyncpg's ``UUID``, a ``uuid.UUID`` subclass), with no SQLAlchemy
    type processing; the connection is the request's read-only one, so a write is still refused.
    """

    def __init__(self, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=_ASYNCPG)
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def _args(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] for name in self.names]

    async def fetch(self, conn: AsyncConnection, **params: Any) -> list[Any]:
        """Every row (asyncpg records)."""
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        rows: list[Any] = await driver.fetch(self.sql, *self._args(params))
        return rows

    async def fetchrow(self, conn: AsyncConnection, **params: Any) -> Any:
        """The first row (an asyncpg record), or None."""
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        return await driver.fetchrow(self.sql, *self._args(params))


def _refuse_closed_connection(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
    """Checkout hook: a pooled connection whose socket the server already closed is replaced.

    asyncpg marks a connection closed as soon as Postgres drops the socket (restart, idle
    timeout), so this costs an attribute read, not the SELECT a pre-ping would send.
    """
    connection = getattr(dbapi_connection, "_connection", None)  # the asyncpg connection
    if connection is not None and connection.is_closed():
        raise exc.DisconnectionError("pooled connection was closed by the server")


# asyncpg errors after which a connection must not be reused: the server ended it (shutdown,
# restart, pg_terminate_backend), or the protocol was left mid-operation by that loss.
_BROKEN_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _broken_connection(context: ExceptionContext) -> None:
    """``handle_error`` hook: mark a connection the server dropped as a disconnect, so SQLAlchemy
    invalidates it (and the pool's older ones) and the error reads ``connection_invalidated`` —
    answered 503 with Retry-After by the chassis, never 500, and never handed out again."""
    if context.is_disconnect:
        return
    link: BaseException | None = context.original_exception
    for _ in range(5):
        if link is None:
            return
        sqlstate = getattr(link, "sqlstate", None)
        if isinstance(
            link, asyncpg.InternalClientError | asyncpg.PostgresConnectionError | ConnectionError
        ) or (isinstance(sqlstate, str) and sqlstate.startswith(_BROKEN_SQLSTATES)):
            context.is_disconnect = True
            return
        link = link.__cause__ or link.__context__


async def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def _request_session(db: Annotated[Database, Depends(get_database)]) -> AsyncIterator[AsyncSession]:
    async with db.transaction() as session:
        yield session


# Commits once after the endpoint returns and before the response is sent, so a failed commit
# becomes an error response instead of a success the client was already told about.
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.read() as session:
        yield session


# For GET endpoints: released before the response is sent; nothing to commit.
ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]


async def _read_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    db: Database = request.app.state.db
    async with db.read_connection() as conn:
        yield conn


# The same read-only pool as ReadSession, without the ORM session around the connection.
ReadConnection = Annotated[AsyncConnection, Depends(_read_connection, scope="function")]
