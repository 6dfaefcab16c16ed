"""Configuration of the gateway (shared AINTECH_* variables plus GATEWAY_* ones)."""

from pydantic import Field

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="gateway"):
    """Name, schema, port and the GATEWAY_ prefix come from the fleet registry."""

    upstream_template: str = Field(
        default="http://127.0.0.1:{port}",
        description="Base URL of a service; {slug} and {port} are filled in (Kubernetes: http://{slug}:{port}).",
    )
    port_offset: int = Field(default=0, description="Added to every service's default port (test fleets).")
    connect_timeout: float = Field(default=2.0, description="Seconds to open a connection to a service.")
    read_timeout: float = Field(default=30.0, description="Seconds a service may take to answer (then 504).")
    max_body_bytes: int = Field(default=10 * 1024 * 1024, description="Largest request body accepted (413).")
    max_connections: int = Field(default=512, description="Pooled keep-alive connections to services.")
    trusted_proxies: list[str] = Field(
        default_factory=lambda: ["127.0.0.1"],
        description="Addresses or CIDR ranges of proxies whose X-Forwarded-For is extended, not replaced.",
    )
