"""Who may read analytics: staff with `analytics:read` (supervisors and admins), never customers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import CurrentPrincipal, Principal
from aintech_shared.errors import Forbidden


async def _reader(principal: CurrentPrincipal) -> Principal:
    if not principal.is_staff or not principal.has(Permission.analytics_read):
        raise Forbidden("Analytics needs the analytics:read permission.")
    return principal


Reader = Annotated[Principal, Depends(_reader)]
