"""Configuration of telephony (shared AINTECH_* variables plus TELEPHONY_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEPHONY_", extra="ignore")

    service_name: ClassVar[str] = "telephony"
    db_schema: ClassVar[str] = "telephony"
    default_port: ClassVar[int] = 8003
