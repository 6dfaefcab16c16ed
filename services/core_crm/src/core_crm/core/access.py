"""Who may call an endpoint: staff by permission, customers through `self:service` on their own data.

``staff_or_self(Permission.policies_read)`` lets in staff holding the permission and customers
holding ``self:service``; the domain services then narrow a customer to their own records
(another customer's id answers 404, never 403, so ids cannot be probed).
"""

from collections.abc import Awaitable, Callable

from aintech_contracts.rbac import Permission, Role
from aintech_shared.auth import CurrentPrincipal, Principal
from aintech_shared.errors import Forbidden
from core_crm.core.actor import acting


def staff_or_self(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """Staff need every listed permission; a customer needs ``self:service``."""

    async def _guard(principal: CurrentPrincipal) -> Principal:
        acting(principal)
        if principal.role is Role.customer:
            if not principal.has(Permission.self_service):
                raise Forbidden("Missing permission(s): self:service.")
            return principal
        missing = [p.value for p in permissions if not principal.has(p)]
        if missing:
            raise Forbidden(f"Missing permission(s): {', '.join(missing)}.")
        return principal

    return _guard


def staff_only(*permissions: Permission) -> Callable[..., Awaitable[Principal]]:
    """Only staff holding every listed permission (customers are refused with 403)."""

    async def _guard(principal: CurrentPrincipal) -> Principal:
        acting(principal)
        if principal.role is Role.customer:
            raise Forbidden("This action is for staff only.")
        missing = [p.value for p in permissions if not principal.has(p)]
        if missing:
            raise Forbidden(f"Missing permission(s): {', '.join(missing)}.")
        return principal

    return _guard


def admin_only() -> Callable[..., Awaitable[Principal]]:
    """Administrators only (everyone else: 403)."""

    async def _guard(principal: CurrentPrincipal) -> Principal:
        acting(principal)
        if principal.role is not Role.admin:
            raise Forbidden("This action is for administrators only.")
        return principal

    return _guard
