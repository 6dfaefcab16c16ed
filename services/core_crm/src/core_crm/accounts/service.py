"""Keeping the accounts read model current from `auth.user` events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.accounts.models import Account
from core_crm.accounts.repository import AccountRepository


async def record_registration(
    session: AsyncSession, *, user_id: uuid.UUID, email: str, first_name: str, last_name: str, role: str
) -> Account:
    """A user registered (or was invited): remember their e-mail and role."""
    return await AccountRepository(session).upsert(
        user_id=user_id,
        values={"email": email.lower(), "first_name": first_name, "last_name": last_name, "role": role},
    )


async def record_verification(session: AsyncSession, *, user_id: uuid.UUID, email: str) -> Account:
    """A user proved they own ``email`` (may arrive before the registration)."""
    return await AccountRepository(session).upsert(
        user_id=user_id, values={"email": email.lower(), "email_verified": True}
    )


async def record_role(session: AsyncSession, *, user_id: uuid.UUID, role: str) -> Account:
    """An administrator changed the user's role."""
    return await AccountRepository(session).upsert(user_id=user_id, values={"role": role})


async def record_active(session: AsyncSession, *, user_id: uuid.UUID, active: bool) -> Account:
    """The account was disabled or enabled."""
    return await AccountRepository(session).upsert(user_id=user_id, values={"active": active})


async def verified_customer_account(session: AsyncSession, *, email: str) -> Account | None:
    """The verified customer account with this e-mail, to link a CRM customer to."""
    return await AccountRepository(session).verified_customer_by_email(email=email)


async def adjuster_candidates(session: AsyncSession, *, configured: Sequence[str]) -> list[uuid.UUID]:
    """Who may adjust claims: the configured list when set, else every active agent and supervisor."""
    if configured:
        return [uuid.UUID(value) for value in configured]
    return list(await AccountRepository(session).active_staff_ids())
