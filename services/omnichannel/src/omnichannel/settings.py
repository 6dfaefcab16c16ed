"""Configuration of omnichannel (shared AINTECH_* variables plus OMNICHANNEL_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="OMNICHANNEL_", extra="ignore")

    service_name: ClassVar[str] = "omnichannel"
    db_schema: ClassVar[str] = "omnichannel"
    default_port: ClassVar[int] = 8004
