"""Who may do what: `scraper:run` (supervisors, admins) runs and reads jobs; admins set limits,
proxies and portal accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission, Role
from aintech_shared.auth import Principal, require_permissions, require_roles

Operator = Annotated[Principal, Depends(require_permissions(Permission.scraper_run))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


def actor_id(principal: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(principal.user_id))
    except ValueError:
        return None
