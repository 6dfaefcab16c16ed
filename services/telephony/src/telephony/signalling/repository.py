"""Every query on signalling_presence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.signalling.models import SignallingPresence


async def enter(
    session: AsyncSession,
    *,
    call_id: uuid.UUID,
    user_id: uuid.UUID,
    connection_id: str,
    replica: str,
    fresh_after: datetime,
) -> Sequence[uuid.UUID]:
    """Record the user's connection in the room (replacing an older one); the other parties there."""
    await session.execute(
        delete(SignallingPresence).where(
            SignallingPresence.call_id == call_id, SignallingPresence.seen_at < fresh_after
        )
    )
    values = {
        "connection_id": connection_id,
        "replica": replica,
        "joined_at": func.now(),
        "seen_at": func.now(),
    }
    await session.execute(
        insert(SignallingPresence)
        .values(call_id=call_id, user_id=user_id, **values)
        .on_conflict_do_update(index_elements=["call_id", "user_id"], set_=values)
    )
    rows = await session.execute(
        select(SignallingPresence.user_id)
        .where(SignallingPresence.call_id == call_id, SignallingPresence.user_id != user_id)
        .order_by(SignallingPresence.joined_at)
    )
    return rows.scalars().all()


async def leave(session: AsyncSession, *, call_id: uuid.UUID, user_id: uuid.UUID, connection_id: str) -> bool:
    """Remove the connection from the room; False when a newer connection of the user replaced it."""
    gone = await session.execute(
        delete(SignallingPresence)
        .where(
            SignallingPresence.call_id == call_id,
            SignallingPresence.user_id == user_id,
            SignallingPresence.connection_id == connection_id,
        )
        .returning(SignallingPresence.user_id)
    )
    return gone.first() is not None


async def touch(session: AsyncSession, *, call_id: uuid.UUID, user_id: uuid.UUID, connection_id: str) -> None:
    """The connection is still open."""
    await session.execute(
        update(SignallingPresence)
        .where(
            SignallingPresence.call_id == call_id,
            SignallingPresence.user_id == user_id,
            SignallingPresence.connection_id == connection_id,
        )
        .values(seen_at=func.now())
    )


async def purge(session: AsyncSession, *, before: datetime) -> int:
    """Forget presence rows not refreshed since ``before`` (their replica went away)."""
    result = await session.execute(
        delete(SignallingPresence)
        .where(SignallingPresence.seen_at < before)
        .returning(SignallingPresence.user_id)
    )
    return len(result.all())
