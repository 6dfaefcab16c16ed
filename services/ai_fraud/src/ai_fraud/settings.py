"""Configuration of ai_fraud (shared AINTECH_* variables plus AI_FRAUD_* ones)."""

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AI_FRAUD_", extra="ignore")

    service_name: ClassVar[str] = "ai-fraud"
    db_schema: ClassVar[str] = "fraud"
    default_port: ClassVar[int] = 8007
