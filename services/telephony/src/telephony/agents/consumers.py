"""Handlers of the authenticator's account events (run by the worker): an agent whose account is
disabled, or whose role no longer handles calls, leaves the assignment pool."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events.auth import UserDisabled, UserEnabled, UserRoleChanged
from aintech_contracts.rbac import ROLE_PERMISSIONS, Permission, Role
from aintech_shared.events.consumer import Handler
from telephony.agents import service
from telephony.core.runtime import Runtime


def handles_calls(role: str) -> bool:
    """Whether ``role`` grants ``calls:handle`` (an unknown role does not)."""
    try:
        return Permission.calls_handle in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False


def account_handlers(rt: Runtime) -> dict[str, Handler]:
    """The handlers of ``auth.user`` events (routed in ``telephony.consumers``)."""

    async def user_disabled(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserDisabled)
        await service.account_changed(session, rt=rt, agent_id=data.user_id, disabled=True)

    async def user_enabled(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserEnabled)
        await service.account_changed(session, rt=rt, agent_id=data.user_id, disabled=False)

    async def role_changed(session: AsyncSession, event: CloudEvent) -> None:
        data = event.data_as(UserRoleChanged)
        await service.account_changed(
            session, rt=rt, agent_id=data.user_id, handles_calls=handles_calls(data.new_role)
        )

    return {
        UserDisabled.event_type: user_disabled,
        UserEnabled.event_type: user_enabled,
        UserRoleChanged.event_type: role_changed,
    }
