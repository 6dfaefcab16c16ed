"""Every query on recordings (columns of ``calls``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.calls.models import Call


async def to_archive(session: AsyncSession, *, limit: int) -> Sequence[Call]:
    """Finished recordings not yet copied into the object store (locked; other runs skip them)."""
    query = (
        select(Call)
        .where(
            Call.recording_status == "completed",
            Call.recording_sid.is_not(None),
            Call.recording_archived_at.is_(None),
        )
        .order_by(Call.ended_at.asc().nulls_last(), Call.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def to_transcribe(session: AsyncSession, *, limit: int) -> Sequence[Call]:
    """Recorded calls whose transcription is still to be requested (locked; other runs skip them)."""
    query = (
        select(Call)
        .where(Call.transcription_status == "pending")
        .order_by(Call.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def any_to_transcribe(session: AsyncSession) -> bool:
    """Whether a call's transcription is still to be requested (a failed request, a full batch)."""
    pending = select(Call.id).where(Call.transcription_status == "pending").exists()
    return bool(await session.scalar(select(pending)))


async def expired(session: AsyncSession, *, archived_before: datetime, limit: int) -> Sequence[Call]:
    """Kept recordings older than the retention period (locked)."""
    query = (
        select(Call)
        .where(Call.recording_key.is_not(None), Call.recording_archived_at < archived_before)
        .order_by(Call.recording_archived_at, Call.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(query)).all()


async def get(session: AsyncSession, call_id: uuid.UUID) -> Call | None:
    return await session.get(Call, call_id)
