"""Production refuses to start without real providers: the console providers would swallow every
message, and without the verification key every provider webhook would be refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnichannel.settings import Settings

REAL = {
    "OMNICHANNEL_TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "OMNICHANNEL_TWILIO_AUTH_TOKEN": "a-real-twilio-auth-token",
    "OMNICHANNEL_SENDGRID_API_KEY": "SG.real-key",
    "OMNICHANNEL_SENDGRID_WEBHOOK_PUBLIC_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE",
    "OMNICHANNEL_PUBLIC_BASE_URL": "https://api.aintech.example",
}


def test_production_needs_the_provider_secrets_and_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    monkeypatch.setenv("AINTECH_DATABASE_URL", "postgresql://admin:s3cret@db.internal/aintech")
    monkeypatch.setenv("OMNICHANNEL_DB_PASSWORD", "a-real-password")
    monkeypatch.setenv("AINTECH_IDENTITY_SECRET", "x" * 48)
    for name in REAL:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError) as refused:
        Settings()
    for name in REAL:
        assert name in str(refused.value)
    for name, value in REAL.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.twilio_configured and settings.sendgrid_configured
