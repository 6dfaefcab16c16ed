"""Configuration of core_crm (shared AINTECH_* variables plus CORE_CRM_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CORE_CRM_", extra="ignore")

    service_name: ClassVar[str] = "core-crm"
    db_schema: ClassVar[str] = "crm"
    default_port: ClassVar[int] = 8002
