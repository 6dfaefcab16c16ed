"""Configuration of quote_engine (shared AINTECH_* variables plus QUOTE_ENGINE_* ones)."""

from pydantic import Field

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="quote_engine"):
    """Name, schema, port and the QUOTE_ENGINE_ prefix come from the fleet registry."""

    max_upload_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, le=50 * 1024 * 1024, description="Largest tariff file accepted."
    )
    dry_run_sample: int = Field(default=200, ge=1, le=5000, description="Recent quotes a dry run re-prices.")
