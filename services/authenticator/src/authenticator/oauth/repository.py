"""Queries on linked identities and pending authorization requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from authenticator.oauth.models import OAuthIdentity, OAuthState


async def add_state(session: AsyncSession, state: OAuthState) -> None:
    session.add(state)
    await session.flush()


async def state_by_hash(session: AsyncSession, state_hash: str) -> OAuthState | None:
    return (
        await session.scalars(select(OAuthState).where(OAuthState.state_hash == state_hash).with_for_update())
    ).first()


async def identity(session: AsyncSession, *, provider: str, subject: str) -> OAuthIdentity | None:
    return (
        await session.scalars(
            select(OAuthIdentity).where(OAuthIdentity.provider == provider, OAuthIdentity.subject == subject)
        )
    ).first()


async def identities_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[OAuthIdentity]:
    return (
        await session.scalars(
            select(OAuthIdentity).where(OAuthIdentity.user_id == user_id).order_by(OAuthIdentity.created_at)
        )
    ).all()


async def add_identity(session: AsyncSession, row: OAuthIdentity) -> None:
    session.add(row)
    await session.flush()


async def delete_identity(session: AsyncSession, row: OAuthIdentity) -> None:
    await session.delete(row)
    await session.flush()


async def delete_expired_states(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(OAuthState).where(OAuthState.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
