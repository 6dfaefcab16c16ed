"""The caller as the CRM sees them: staff, or a customer narrowed to their own record."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_contracts.rbac import Permission, Role
from aintech_shared.auth import CurrentPrincipal, Principal
from aintech_shared.db import DbSession, ReadDriver, ReadSession
from aintech_shared.errors import Forbidden
from core_crm.core.access import admin_only, staff_only, staff_or_self
from core_crm.core.actor import acting
from core_crm.customers import repository


@dataclass(frozen=True)
class Viewer:
    """Who is asking. For a customer, ``customer_id`` is their own CRM record (None until linked)."""

    principal: Principal
    customer_id: uuid.UUID | None

    @property
    def is_staff(self) -> bool:
        return self.principal.is_staff

    @property
    def actor_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.principal.user_id)
        except ValueError:
            return None

    def may_see(self, customer_id: uuid.UUID | None) -> bool:
        """Staff see everything; a customer only what belongs to their own record."""
        return self.is_staff or (self.customer_id is not None and customer_id == self.customer_id)


async def resolve_viewer(session: AsyncSession | AsyncConnection | Any, principal: Principal) -> Viewer:
    if principal.is_staff:
        return Viewer(principal=principal, customer_id=None)
    try:
        user_id = uuid.UUID(principal.user_id)
    except ValueError:
        return Viewer(principal=principal, customer_id=None)
    return Viewer(principal=principal, customer_id=await repository.by_user(session, user_id))


def viewer(*permissions: Permission) -> Callable[..., Awaitable[Viewer]]:
    """Staff with ``permissions``, or a customer (self-service) narrowed to their own record."""
    guard = staff_or_self(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)], session: DbSession) -> Viewer:
        return await resolve_viewer(session, principal)

    return _dependency


def read_viewer(*permissions: Permission) -> Callable[..., Awaitable[Viewer]]:
    """As :func:`viewer`, for GET endpoints: a customer's own record is looked up on the read-only
    session the endpoint reads with (staff need no lookup)."""
    guard = staff_or_self(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)], session: ReadSession) -> Viewer:
        return await resolve_viewer(session, principal)

    return _dependency


def lean_viewer(*permissions: Permission) -> Callable[..., Awaitable[Viewer]]:
    """As :func:`read_viewer`, on the bare asyncpg connection of the hot reads (``ReadDriver``)."""
    guard = staff_or_self(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)], conn: ReadDriver) -> Viewer:
        return await resolve_viewer(conn, principal)

    return _dependency


def staff(*permissions: Permission) -> Callable[..., Awaitable[Viewer]]:
    """Staff with ``permissions`` only."""
    guard = staff_only(*permissions)

    async def _dependency(principal: Annotated[Principal, Depends(guard)]) -> Viewer:
        return Viewer(principal=principal, customer_id=None)

    return _dependency


def customer_self() -> Callable[..., Awaitable[Viewer]]:
    """Customers (``self:service``) only, on their own record (staff are refused with 403)."""

    async def _dependency(principal: CurrentPrincipal, session: DbSession) -> Viewer:
        acting(principal)
        if principal.role is not Role.customer or not principal.has(Permission.self_service):
            raise Forbidden("This action is for customers, on their own record.")
        return await resolve_viewer(session, principal)

    return _dependency


def admin() -> Callable[..., Awaitable[Viewer]]:
    """Administrators only."""
    guard = admin_only()

    async def _dependency(principal: Annotated[Principal, Depends(guard)]) -> Viewer:
        return Viewer(principal=principal, customer_id=None)

    return _dependency
