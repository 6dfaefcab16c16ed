"""Who may see fraud data: staff with `fraud:review` (supervisors, admins, investigators), never
customers, whatever their token says; rules and models need `fraud:manage` as well."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends

from aintech_contracts.rbac import Permission
from aintech_shared.auth import CurrentPrincipal, Principal
from aintech_shared.errors import Forbidden


def _guard(*permissions: Permission) -> Callable[[Principal], Awaitable[Principal]]:
    async def guard(principal: CurrentPrincipal) -> Principal:
        if not principal.is_staff:
            raise Forbidden("Fraud data is for staff only.")
        missing = [p.value for p in permissions if not principal.has(p)]
        if missing:
            raise Forbidden(f"Missing permission(s): {', '.join(missing)}.")
        return principal

    return guard


Reviewer = Annotated[Principal, Depends(_guard(Permission.fraud_review))]
Manager = Annotated[Principal, Depends(_guard(Permission.fraud_review, Permission.fraud_manage))]


def actor_id(principal: Principal) -> uuid.UUID | None:
    """The caller's user id as a UUID (None for a subject that is not one)."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        return None
