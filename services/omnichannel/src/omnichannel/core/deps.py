"""Who is calling: the verified principal, as the ids and guards the domains use."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission, Role
from aintech_shared.auth import CurrentPrincipal, Principal, require_permissions, require_roles
from aintech_shared.errors import Forbidden, Unauthorized


def user_uuid(principal: Principal) -> uuid.UUID:
    """The caller's user id (the token's subject) as a UUID."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError as exc:
        raise Unauthorized("Invalid access token: malformed subject.") from exc


def ensure_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("Only staff can do this.")


Caller = CurrentPrincipal
Sender = Annotated[Principal, Depends(require_permissions(Permission.messages_send))]
CampaignManager = Annotated[Principal, Depends(require_permissions(Permission.campaigns_manage))]
Supervisor = Annotated[Principal, Depends(require_permissions(Permission.calls_supervise))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
