"""Configuration of analytics (shared AINTECH_* variables plus ANALYTICS_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore")

    service_name: ClassVar[str] = "analytics"
    db_schema: ClassVar[str] = "analytics"
    default_port: ClassVar[int] = 8008
