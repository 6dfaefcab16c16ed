"""Configuration of quote_engine (shared AINTECH_* variables plus QUOTE_ENGINE_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTE_ENGINE_", extra="ignore")

    service_name: ClassVar[str] = "quote-engine"
    db_schema: ClassVar[str] = "quotes"
    default_port: ClassVar[int] = 8005
