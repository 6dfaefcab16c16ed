"""Roles and the permission matrix every service enforces (docs/rbac.md mirrors this table)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"
    customer = "customer"


class Permission(StrEnum):
    # authenticator
    users_read = "users:read"
    users_manage = "users:manage"
    sessions_manage = "sessions:manage"
    audit_read = "audit:read"
    keys_manage = "keys:manage"
    # core-crm
    customers_read = "customers:read"
    customers_write = "customers:write"
    policies_read = "policies:read"
    policies_write = "policies:write"
    claims_read = "claims:read"
    claims_write = "claims:write"
    claims_approve = "claims:approve"
    tasks_read = "tasks:read"
    tasks_write = "tasks:write"
    workflows_read = "workflows:read"
    workflows_manage = "workflows:manage"
    # communications
    calls_handle = "calls:handle"
    calls_supervise = "calls:supervise"
    messages_send = "messages:send"
    campaigns_manage = "campaigns:manage"
    # quoting, scraping, fraud, analytics
    quotes_create = "quotes:create"
    rates_manage = "rates:manage"
    scraper_run = "scraper:run"
    fraud_review = "fraud:review"
    fraud_manage = "fraud:manage"
    analytics_read = "analytics:read"
    reports_export = "reports:export"
    # a customer acting on their own records only (object-level checks apply)
    self_service = "self:service"


P = Permission

_AGENT = frozenset(
    {
        P.customers_read,
        P.customers_write,
        P.policies_read,
        P.policies_write,
        P.claims_read,
        P.claims_write,
        P.tasks_read,
        P.tasks_write,
        P.workflows_read,
        P.calls_handle,
        P.messages_send,
        P.quotes_create,
        P.users_read,
    }
)
_SUPERVISOR = _AGENT | {
    P.claims_approve,
    P.workflows_manage,
    P.calls_supervise,
    P.campaigns_manage,
    P.scraper_run,
    P.fraud_review,
    P.fraud_manage,
    P.analytics_read,
    P.reports_export,
    P.audit_read,
    P.sessions_manage,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission) - {P.self_service},
    Role.supervisor: frozenset(_SUPERVISOR),
    Role.agent: _AGENT,
    Role.customer: frozenset({P.self_service}),
}


def permissions_for(role: Role | str) -> list[str]:
    """The sorted permission strings a role grants (what goes into the access token)."""
    return sorted(p.value for p in ROLE_PERMISSIONS[Role(role)])
