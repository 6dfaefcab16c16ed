"""The fleet registry: every service's name, schema, port and public route prefix."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceSpec:
    name: str  # python package name, e.g. core_crm
    slug: str  # process / image name, e.g. core-crm
    schema: str  # the Postgres schema (and role svc_<schema>) it owns
    port: int  # default HTTP port
    route: str | None  # public prefix under /api/ on the gateway (None for the gateway itself)
    webhooks: tuple[str, ...] = field(default_factory=tuple)  # /webhooks/<name>/... it owns
    description: str = ""
    # Postgres extensions the administrator login creates in the shared ``extensions`` schema
    # during provisioning (the service role cannot create them itself).
    extensions: tuple[str, ...] = field(default_factory=tuple)
    # WebSocket path prefixes: /ws/<route>/<prefix>/... on the gateway is /ws/<prefix>/... here.
    websockets: tuple[str, ...] = field(default_factory=tuple)
    # Paths under /api/<route> the gateway lets through without an access token ("*" = one segment).
    public_paths: tuple[str, ...] = field(default_factory=tuple)

    @property
    def env_prefix(self) -> str:
        return self.name.upper() + "_"


FLEET: tuple[ServiceSpec, ...] = (
    ServiceSpec("gateway", "gateway", "gateway", 8000, None, description="Public entry and router"),
    ServiceSpec(
        "authenticator",
        "authenticator",
        "auth",
        8001,
        "auth",
        description="Users, sessions, tokens, OAuth, 2FA, RBAC, audit",
        public_paths=(
            "/register",
            "/login",
            "/login/2fa",
            "/refresh",
            "/verify-email",
            "/verify-email-change",
            "/forgot-password",
            "/reset-password",
            "/oauth/providers",
            "/oauth/*/login",
            "/oauth/*/start",
            "/oauth/*/callback",
            "/.well-known/jwks.json",
        ),
    ),
    ServiceSpec(
        "core_crm",
        "core-crm",
        "crm",
        8002,
        "crm",
        description="Customers, policies, claims, quotes, interactions, tasks, workflows",
        extensions=("pg_trgm",),
        webhooks=("leads",),
    ),
    ServiceSpec(
        "telephony",
        "telephony",
        "telephony",
        8003,
        "telephony",
        webhooks=("twilio/voice",),
        websockets=("calls",),
        description="Twilio voice: calls, queues, agents",
    ),
    ServiceSpec(
        "omnichannel",
        "omnichannel",
        "omnichannel",
        8004,
        "omnichannel",
        webhooks=("twilio/messaging", "twilio/content", "sendgrid"),
        websockets=("chat", "inbox", "notifications"),
        public_paths=("/chat/widget",),
        description="WhatsApp, SMS, e-mail, chat, notifications, inbox, campaigns",
    ),
    ServiceSpec("quote_engine", "quote-engine", "quotes", 8005, "quotes", description="Rating and quotes"),
    ServiceSpec("scraper", "scraper", "scraper", 8006, "scraper", description="Carrier-portal jobs"),
    ServiceSpec("ai_fraud", "ai-fraud", "fraud", 8007, "fraud", description="Fraud scoring"),
    ServiceSpec("analytics", "analytics", "analytics", 8008, "analytics", description="KPIs and reports"),
)

BY_NAME: dict[str, ServiceSpec] = {s.name: s for s in FLEET}
BACKENDS: tuple[ServiceSpec, ...] = tuple(s for s in FLEET if s.route is not None)
