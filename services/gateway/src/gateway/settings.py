"""Configuration of the gateway (shared AINTECH_* variables plus GATEWAY_* ones)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator

from aintech_shared.edge import DEV_IDENTITY_SECRET
from aintech_shared.settings import ServiceSettings

# Budgets per route class, in the `limits` notation ("10/minute;50/hour": both apply).
# `anonymous` is per client IP for calls without a valid token, `user` per user for the others;
# the named classes are charged on top of those for the routes mapped to them below.
DEFAULT_RATE_LIMITS: dict[str, str] = {
    "anonymous": "120/minute",
    "user": "1200/minute",
    "sign-in": "10/minute;60/hour",
    "sign-up": "5/minute;30/hour",
    "password-reset": "5/minute;20/hour",
    "verification": "3/minute;10/hour",
    "webhooks": "1200/minute",
}
# Public path pattern -> route class ("*" is one path segment, a trailing "/**" any rest).
DEFAULT_RATE_LIMIT_ROUTES: dict[str, str] = {
    "/api/auth/login": "sign-in",
    "/api/auth/login/2fa": "sign-in",
    "/api/auth/oauth/*/callback": "sign-in",
    "/api/auth/register": "sign-up",
    "/api/auth/forgot-password": "password-reset",
    "/api/auth/reset-password": "password-reset",
    "/api/auth/verify-email": "verification",
    "/api/auth/verify-email/resend": "verification",
    "/api/auth/verify-email-change": "verification",
    "/webhooks/**": "webhooks",
}


class Settings(ServiceSettings, service="gateway"):
    """Name, schema, port and the GATEWAY_ prefix come from the fleet registry."""

    # --- routing and forwarding ------------------------------------------------------------------
    upstream_template: str = Field(
        default="http://127.0.0.1:{port}",
        description="Base URL of a service; {slug} and {port} are filled in (Kubernetes: http://{slug}:{port}).",
    )
    port_offset: int = Field(default=0, description="Added to every service's default port (test fleets).")
    connect_timeout: float = Field(default=2.0, description="Seconds to open a connection to a service.")
    read_timeout: float = Field(default=30.0, description="Seconds a service may take to answer (then 504).")
    max_connections: int = Field(
        default=512,
        description="Connections to each service in the forwarding pool (and in total for aiohttp's).",
    )
    upstream_keepalive: float = Field(
        default=15.0,
        description="Seconds an idle pooled connection is kept; shorter than the services' own keep-alive "
        "(AINTECH_KEEPALIVE_TIMEOUT, 75 s) so the gateway never reuses one a service is closing.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Addresses or CIDR ranges of proxies whose X-Forwarded-For/-Proto/-Host are believed.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "[::1]"],
        description="Host names the platform answers for (port ignored; '*.example.com' for subdomains); "
        "any other Host (or trusted X-Forwarded-Host) gets 400.",
    )

    # --- request bodies and slow clients -------------------------------------------------------
    max_body_bytes: int = Field(default=10 * 1024 * 1024, description="Largest request body accepted (413).")
    buffer_body_bytes: int = Field(
        default=64 * 1024,
        description="Bodies up to this size (declared by Content-Length) are read whole and can be retried; "
        "larger or chunked ones stream to the service.",
    )
    body_idle_timeout: float = Field(
        default=10.0, description="Seconds a client may pause while sending a body (then 408)."
    )
    body_timeout: float = Field(
        default=60.0, description="Seconds a client may take to send a whole body (408)."
    )
    header_timeout: float = Field(
        default=10.0, description="Seconds a client may take to send a request's headers (then 408, closed)."
    )

    # --- tokens, identity, revoked sessions ----------------------------------------------------
    identity_secret: SecretStr = Field(
        default=SecretStr(DEV_IDENTITY_SECRET),
        validation_alias=AliasChoices("AINTECH_IDENTITY_SECRET"),
        description="HMAC key of the X-Aintech-Identity header (shared with every service).",
    )
    token_cache_size: int = Field(default=20_000, description="Verified access tokens kept until their exp.")
    access_token_max_lifetime: int = Field(
        default=900,
        validation_alias=AliasChoices(
            "AINTECH_ACCESS_TOKEN_MAX_LIFETIME", "GATEWAY_ACCESS_TOKEN_MAX_LIFETIME"
        ),
        description="Longest access-token lifetime (s): how far back the session denylist reads on start.",
    )
    denylist_required: bool = Field(
        default=True,
        description="Refuse authenticated calls (503) until the session denylist has caught up with Kafka.",
    )

    # --- rate limits ----------------------------------------------------------------------------
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="Budget per route class (limits notation); a JSON object in GATEWAY_RATE_LIMITS is "
        "merged over the defaults.",
    )
    rate_limit_routes: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMIT_ROUTES),
        description="Public path pattern -> route class ('*' one segment, '/**' any rest); merged over the "
        "defaults.",
    )
    rate_limit_sweep_interval: float = Field(
        default=5.0, description="Seconds between expired-bucket sweeps."
    )

    # --- WebSockets -----------------------------------------------------------------------------
    ws_idle_timeout: float = Field(
        default=300.0, description="Seconds without a message either way before a WebSocket is closed (1001)."
    )
    ws_ping_interval: float = Field(default=20.0, description="Seconds between keepalive pings on each side.")
    ws_ping_timeout: float = Field(
        default=20.0, description="Seconds to wait for a pong before closing (1011)."
    )
    ws_max_message_bytes: int = Field(
        default=1024 * 1024, description="Largest WebSocket message relayed (1009)."
    )

    # --- browser-facing headers -----------------------------------------------------------------
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:3000", "http://127.0.0.1:3000"],
        description="Origins allowed to call the API from a browser (exact scheme://host[:port]).",
    )
    cors_allow_credentials: bool = Field(default=True, description="Access-Control-Allow-Credentials.")
    cors_max_age: int = Field(default=600, description="Seconds browsers may cache a preflight answer.")
    cors_allow_headers: list[str] = Field(
        default_factory=lambda: [
            "Authorization",
            "Content-Type",
            "Accept",
            "Accept-Language",
            "Idempotency-Key",
            "X-Request-ID",
            "X-Correlation-ID",
        ],
        description="Request headers a browser may send cross-origin.",
    )
    hsts_max_age: int = Field(
        default=63_072_000, description="Strict-Transport-Security max-age, sent on HTTPS requests only."
    )

    @field_validator("rate_limits", mode="after")
    @classmethod
    def _merge_limits(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_RATE_LIMITS, **value}

    @field_validator("rate_limit_routes", mode="after")
    @classmethod
    def _merge_routes(cls, value: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_RATE_LIMIT_ROUTES, **value}

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        if self.identity_secret.get_secret_value() == DEV_IDENTITY_SECRET:
            problems.append("AINTECH_IDENTITY_SECRET")
        if any(origin in ("*", "null") for origin in self.cors_origins):
            problems.append("GATEWAY_CORS_ORIGINS")
        return problems

    @model_validator(mode="after")
    def _routes_name_known_classes(self) -> Settings:
        unknown = set(self.rate_limit_routes.values()) - set(self.rate_limits)
        if unknown:
            raise ValueError(f"rate_limit_routes names unknown classes: {', '.join(sorted(unknown))}")
        return self
