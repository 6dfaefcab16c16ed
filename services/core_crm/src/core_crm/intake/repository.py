"""Queries on unmatched contacts."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.pagination import newest_first
from core_crm.intake.models import IntakeStatus, UnmatchedInteraction


def _lock_key(contact: str) -> int:
    """A stable signed 64-bit advisory-lock key for a contact (``phone:+34…``, ``email:…``)."""
    digest = hashlib.blake2b(f"crm.contact:{contact}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_contacts(session: AsyncSession, contacts: Iterable[str]) -> None:
    """Serialise, until commit, every transaction matching or storing these contacts (always taken
    in key order, so two transactions locking overlapping sets cannot deadlock each other)."""
    for key in sorted({_lock_key(c) for c in contacts}):
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def by_external(session: AsyncSession, *, source: str, external_id: str) -> UnmatchedInteraction | None:
    return (
        await session.scalars(
            select(UnmatchedInteraction)
            .where(UnmatchedInteraction.source == source, UnmatchedInteraction.external_id == external_id)
            .with_for_update()
        )
    ).first()


async def get(
    session: AsyncSession, intake_id: uuid.UUID, *, for_update: bool = False
) -> UnmatchedInteraction | None:
    query = select(UnmatchedInteraction).where(UnmatchedInteraction.id == intake_id)
    if for_update:
        query = query.with_for_update()
    return (await session.scalars(query)).first()


async def add(session: AsyncSession, row: UnmatchedInteraction) -> None:
    session.add(row)
    await session.flush()


async def flush(session: AsyncSession) -> None:
    await session.flush()


async def open_for_contacts(
    session: AsyncSession, *, phones: Sequence[str], email: str | None
) -> Sequence[UnmatchedInteraction]:
    """Open contacts from any of these phones or this e-mail, oldest first, locked."""
    matches: list[ColumnElement[bool]] = []
    if phones:
        matches.append(UnmatchedInteraction.phone.in_(phones))
    if email:
        matches.append(func.lower(UnmatchedInteraction.email) == email.lower())
    if not matches:
        return []
    rows = await session.scalars(
        select(UnmatchedInteraction)
        .where(UnmatchedInteraction.status == IntakeStatus.open.value, or_(*matches))
        .order_by(UnmatchedInteraction.occurred_at, UnmatchedInteraction.id)
        .with_for_update()
    )
    return rows.all()


async def search(
    session: AsyncSession, *, status: str, after: list[Any] | None, limit: int
) -> tuple[Sequence[UnmatchedInteraction], list[Any] | None]:
    """Newest received first."""
    conditions: list[ColumnElement[bool]] = [UnmatchedInteraction.status == status]
    return await newest_first(
        session,
        UnmatchedInteraction,
        at=UnmatchedInteraction.received_at,
        id_=UnmatchedInteraction.id,
        conditions=conditions,
        after=after,
        limit=limit,
    )


async def purge_open_before(session: AsyncSession, *, cutoff: datetime, limit: int) -> list[Any]:
    """Delete up to ``limit`` contacts still open (nobody linked or dismissed them) received before
    ``cutoff``, oldest first; what was deleted (ids and provenance, no contact data)."""
    table = UnmatchedInteraction
    doomed = (
        select(table.id)
        .where(table.status == "open", table.received_at < cutoff)
        .order_by(table.received_at, table.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(table)
        .where(table.id.in_(doomed))
        .returning(table.id, table.source, table.external_id, table.type, table.received_at)
    )
    return list(result.all())
