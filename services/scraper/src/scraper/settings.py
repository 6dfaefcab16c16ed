"""Configuration of scraper (shared AINTECH_* variables plus SCRAPER_* ones)."""

from __future__ import annotations

from pydantic import Field

from aintech_shared.settings import ServiceSettings

DEV_SECRET_KEY = "ZGV2LW9ubHktc2NyYXBlci1rZXktMzItYnl0ZXMtISE="  # noqa: S105 - development default


class Settings(ServiceSettings, service="scraper"):
    """Name, schema, port and the SCRAPER_ prefix come from the fleet registry."""

    secret_key: str = Field(
        default=DEV_SECRET_KEY,
        description="Fernet key (url-safe base64, 32 bytes) that encrypts portal and proxy credentials "
        "at rest. The development default is refused in production.",
    )
    lease_seconds: float = Field(
        default=120,
        gt=0,
        le=3600,
        description="How long a claimed job is a worker's before it returns to the queue.",
    )
    default_max_attempts: int = Field(default=4, ge=1, le=20, description="Attempts before a job fails.")
    backoff_initial_seconds: float = Field(default=5, gt=0, le=3600, description="First retry delay.")
    backoff_max_seconds: float = Field(default=900, gt=0, le=86_400, description="Longest retry delay.")
    backoff_jitter_seconds: float = Field(
        default=5, ge=0, le=3600, description="Random jitter added to a delay."
    )
    carrier_max_concurrent: int = Field(
        default=2, ge=1, le=100, description="Default running jobs per carrier across every worker."
    )
    carrier_min_interval_ms: int = Field(
        default=1000, ge=0, le=3_600_000, description="Default pause between two job starts on one carrier."
    )
    artifact_retention_days: int = Field(
        default=14, ge=1, le=365, description="Days a failure's screenshot and HTML are kept."
    )
    artifact_max_bytes: int = Field(
        default=2_000_000, ge=1000, le=20_000_000, description="Largest screenshot or HTML kept per failure."
    )
    worker_parallel_jobs: int = Field(default=2, ge=1, le=32, description="Jobs one worker runs at once.")
    poll_seconds: float = Field(default=1.0, gt=0, le=60, description="Queue poll period of the worker.")
    page_timeout_seconds: float = Field(default=20, gt=0, le=300, description="Timeout of one page load.")
    chromium_path: str = Field(
        default="/usr/bin/chromium", description="Chromium executable Playwright drives (Debian's package)."
    )
    pdf_max_bytes: int = Field(
        default=10_000_000, ge=10_000, le=100_000_000, description="Largest policy PDF read."
    )
    pdf_max_pages: int = Field(default=40, ge=1, le=500, description="Most pages of a policy PDF read.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Extra carrier hosts (besides those of the adapters' YAML) jobs may contact.",
    )
    proxy_cooldown_seconds: float = Field(
        default=900, gt=0, le=86_400, description="Rest of a proxy after a ban or CAPTCHA page through it."
    )
    proxy_check_timeout_seconds: float = Field(
        default=5, gt=0, le=60, description="Proxy health check timeout."
    )
    demo_portal: bool | None = Field(
        default=None,
        description="Serve the demo carrier portals at /demo-portal on the API's port and allow loopback "
        "as a carrier host. Default: on in development, off otherwise; refused in production.",
    )

    @property
    def demo_portal_on(self) -> bool:
        if self.is_production:
            return False
        return self.demo_portal if self.demo_portal is not None else self.env.value == "development"

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        if self.secret_key == DEV_SECRET_KEY:
            problems.append(f"{self.env_prefix()}SECRET_KEY")
        if self.demo_portal is True:
            problems.append(f"{self.env_prefix()}DEMO_PORTAL")
        return problems
