"""Who may do what: agents act on their own calls and status; supervisors on everyone's."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal, require_permissions
from aintech_shared.errors import Forbidden, Unauthorized


def user_uuid(principal: Principal) -> uuid.UUID:
    """The caller's user id as a UUID (401 when the token's subject is not one)."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError as exc:
        raise Unauthorized("Invalid access token: malformed subject.") from exc


Agent = Annotated[Principal, Depends(require_permissions(Permission.calls_handle))]
Supervisor = Annotated[Principal, Depends(require_permissions(Permission.calls_supervise))]


def is_supervisor(principal: Principal) -> bool:
    return principal.has(Permission.calls_supervise)


def ensure_self_or_supervisor(principal: Principal, agent_id: uuid.UUID) -> None:
    """Object-level check: an agent acts on their own record, a supervisor on anyone's."""
    if agent_id != user_uuid(principal) and not is_supervisor(principal):
        raise Forbidden("Agents can only act on their own status and calls.")
