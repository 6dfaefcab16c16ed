"""Settings: shared and per-service variables, and the production guard."""

from typing import ClassVar

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from aintech_shared.settings import Environment, ServiceSettings


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", extra="ignore")
    service_name: ClassVar[str] = "demo"
    db_schema: ClassVar[str] = "demo"
    default_port: ClassVar[int] = 8099


def test_service_url_logs_in_as_the_service_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_DATABASE_URL", "postgresql://admin:secret@db.internal:5432/aintech")
    monkeypatch.setenv("DEMO_DB_PASSWORD", "s3cret!")
    monkeypatch.setenv("DEMO_PORT", "9100")
    settings = DemoSettings()
    assert settings.port == 9100
    assert settings.service_database_url == "postgresql+asyncpg://svc_demo:s3cret%21@db.internal:5432/aintech"


def test_production_refuses_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    monkeypatch.delenv("AINTECH_DATABASE_URL", raising=False)
    monkeypatch.delenv("DEMO_DB_PASSWORD", raising=False)
    with pytest.raises(ValidationError, match="DEMO_DB_PASSWORD"):
        DemoSettings()


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    monkeypatch.setenv("AINTECH_DATABASE_URL", "postgresql://admin:real@db:5432/aintech")
    monkeypatch.setenv("DEMO_DB_PASSWORD", "a-long-random-value")
    assert DemoSettings().env is Environment.production
