"""Transactions a job opens for itself, for work that must commit before it goes on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class Transactions(Protocol):
    """Anything that opens a transaction committed on success (``aintech_shared.db.Database``)."""

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]: ...


class EngineTransactions:
    """New transactions on the engine a (job's) session uses: commit on success, else roll back."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)

    @classmethod
    def beside(cls, session: AsyncSession) -> EngineTransactions:
        """On the same engine (and pool) as ``session``."""
        if not isinstance(session.bind, AsyncEngine):
            raise TypeError("the session is not bound to an engine")
        return cls(session.bind)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
