"""Queries on linked identities and pending authorization requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Select, bindparam, delete, func, literal_column, select, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_shared.db import LeanSelect
from authenticator.oauth.models import OAuthIdentity, OAuthState
from authenticator.sessions.models import Session
from authenticator.users.models import User


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


_IDENTITIES_OF = (
    select(OAuthIdentity)
    .where(OAuthIdentity.user_id == bindparam("user_id"))
    .order_by(OAuthIdentity.created_at)
)


async def identities_of(session: AsyncSession, user_id: uuid.UUID) -> Sequence[OAuthIdentity]:
    return (await session.scalars(_IDENTITIES_OF, {"user_id": user_id})).all()


async def add_identity(session: AsyncSession, row: OAuthIdentity) -> None:
    session.add(row)
    await session.flush()


async def delete_identity(session: AsyncSession, row: OAuthIdentity) -> None:
    await session.delete(row)
    await session.flush()


async def delete_expired_states(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(delete(OAuthState).where(OAuthState.expires_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


_LINKED = (
    select(
        func.coalesce(
            func.json_agg(
                aggregate_order_by(
                    func.json_build_object(  # keys as SQL literals: only the ids are bound
                        literal_column("'provider'"),
                        OAuthIdentity.provider,
                        literal_column("'email'"),
                        OAuthIdentity.email,
                        literal_column("'created_at'"),
                        OAuthIdentity.created_at,
                        literal_column("'last_login_at'"),
                        OAuthIdentity.last_login_at,
                    ),
                    OAuthIdentity.created_at,
                )
            ),
            literal_column("'[]'::json"),
        )
    )
    .where(OAuthIdentity.user_id == User.id)
    .scalar_subquery()
)
# GET /me in one round trip: the account, the state of the token's login session and the linked
# identities (as a JSON array), built once.
_ACCOUNT_VIEW = (
    select(
        User.id,
        User.email,
        User.first_name,
        User.last_name,
        User.phone,
        User.role,
        User.status,
        User.email_verified_at.is_not(None).label("email_verified"),
        User.totp_secret.is_not(None).label("two_factor_enabled"),
        User.created_at,
        User.last_login_at,
        User.password_hash.is_not(None).label("has_password"),
        Session.id.label("session_id"),
        Session.revoked_at.label("session_revoked_at"),
        Session.expires_at.label("session_expires_at"),
        type_coerce(_LINKED, JSON).label("identities"),
    )
    .join_from(Session, User, User.id == Session.user_id)
    .where(Session.id == bindparam("session_id"), User.id == bindparam("user_id"))
)


# Compiled once and run with asyncpg on the read connection (no per-call compilation, cache key or
# result processing): GET /me is the authenticator's hottest read.
_ACCOUNT_VIEW_LEAN = LeanSelect(cast(Select[Any], _ACCOUNT_VIEW))


async def account_view(db: AsyncConnection | Any, *, user_id: uuid.UUID, session_id: uuid.UUID) -> Any:
    """The caller's account, login-session state and linked identities (an asyncpg record, read by
    column name); None if the session is not theirs."""
    return await _ACCOUNT_VIEW_LEAN.fetchrow(db, session_id=session_id, user_id=user_id)
