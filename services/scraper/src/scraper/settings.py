"""Configuration of scraper (shared AINTECH_* variables plus SCRAPER_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SCRAPER_", extra="ignore")

    service_name: ClassVar[str] = "scraper"
    db_schema: ClassVar[str] = "scraper"
    default_port: ClassVar[int] = 8006
