"""Queries on the customer and user read models."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from omnichannel.contacts.models import Contact, PlatformUser
from omnichannel.core.base import utcnow


async def get(session: AsyncSession, customer_id: uuid.UUID) -> Contact | None:
    return await session.get(Contact, customer_id)


async def upsert(session: AsyncSession, values: dict[str, Any]) -> None:
    """Insert or replace a contact unless the stored copy is newer (``version``)."""
    stmt = insert(Contact).values(**values)
    changes = {k: stmt.excluded[k] for k in values if k != "customer_id"}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Contact.customer_id],
            set_=changes,
            where=Contact.version <= stmt.excluded.version,
        )
    )


async def mark_deleted(session: AsyncSession, customer_id: uuid.UUID, *, erase: bool) -> None:
    values: dict[str, Any] = {"deleted_at": utcnow(), "status": "deleted"}
    if erase:
        values |= {
            "first_name": "",
            "last_name": "",
            "company_name": None,
            "email": None,
            "phone": None,
            "mobile": None,
            "user_id": None,
        }
    await session.execute(update(Contact).where(Contact.customer_id == customer_id).values(**values))


async def _only(session: AsyncSession, query: Any) -> Contact | None:
    """The one live contact the query finds; None when nobody or several match (an address that
    several customers share identifies none of them: an agent chooses)."""
    found = (await session.scalars(query.limit(2))).all()
    return found[0] if len(found) == 1 else None


async def by_phone(session: AsyncSession, phone: str) -> Contact | None:
    query = select(Contact).where(
        or_(Contact.mobile == phone, Contact.phone == phone), Contact.deleted_at.is_(None)
    )
    return await _only(session, query)


async def by_email(session: AsyncSession, email: str) -> Contact | None:
    return await _only(session, select(Contact).where(Contact.email == email, Contact.deleted_at.is_(None)))


async def by_user(session: AsyncSession, user_id: uuid.UUID) -> Contact | None:
    query = select(Contact).where(Contact.user_id == user_id, Contact.deleted_at.is_(None)).limit(1)
    return (await session.scalars(query)).first()


async def in_segment(
    session: AsyncSession, segment: str, *, after: uuid.UUID | None, limit: int
) -> Sequence[Contact]:
    query = select(Contact).where(Contact.segment == segment, Contact.deleted_at.is_(None))
    if after is not None:
        query = query.where(Contact.customer_id > after)
    return (await session.scalars(query.order_by(Contact.customer_id).limit(limit))).all()


async def upsert_user(session: AsyncSession, values: dict[str, Any]) -> None:
    stmt = insert(PlatformUser).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[PlatformUser.user_id],
            set_={k: stmt.excluded[k] for k in values if k != "user_id"},
        )
    )


async def set_user_email(session: AsyncSession, user_id: uuid.UUID, email: str) -> None:
    await session.execute(update(PlatformUser).where(PlatformUser.user_id == user_id).values(email=email))


async def set_user_role(session: AsyncSession, user_id: uuid.UUID, role: str) -> None:
    await session.execute(update(PlatformUser).where(PlatformUser.user_id == user_id).values(role=role))


async def users_with_role(session: AsyncSession, role: str) -> Sequence[uuid.UUID]:
    rows = await session.scalars(
        select(PlatformUser.user_id).where(PlatformUser.role == role).order_by(PlatformUser.user_id)
    )
    return rows.all()


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> PlatformUser | None:
    return await session.get(PlatformUser, user_id)


async def user_ids_with_roles(session: AsyncSession, roles: Sequence[str]) -> list[uuid.UUID]:
    """The accounts holding one of ``roles`` (as ``user.registered`` told us)."""
    query = (
        select(PlatformUser.user_id).where(PlatformUser.role.in_(list(roles))).order_by(PlatformUser.user_id)
    )
    return list((await session.scalars(query)).all())
