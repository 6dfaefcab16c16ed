"""Every call to Twilio and SendGrid is counted by outcome (provider_requests_total) and timed."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from omnichannel.providers.base import OutgoingEmail, OutgoingText, ProviderError
from omnichannel.providers.factory import Providers

from .fakes import FakeSendGrid, FakeTwilio


def _count(provider: str, operation: str, outcome: str) -> float:
    labels = {"provider": provider, "operation": operation, "outcome": outcome}
    return REGISTRY.get_sample_value("provider_requests_total", labels) or 0.0


async def test_twilio_and_sendgrid_outcomes_are_counted(
    providers: Providers, twilio: FakeTwilio, sendgrid: FakeSendGrid
) -> None:
    text = OutgoingText(channel="sms", to="+34600111222", body="Su póliza se renueva mañana")
    before = {o: _count("twilio", "send_sms", o) for o in ("ok", "refused", "throttled", "failed")}
    await providers.text.send_text(text)
    twilio.failures.extend([(400, 21211, "Invalid 'To' Phone Number"), (429, 20429, "Too Many Requests")])
    twilio.failures.append((503, 20500, "Service Unavailable"))
    for _ in range(3):
        with pytest.raises(ProviderError):
            await providers.text.send_text(text)
    for outcome in ("ok", "refused", "throttled", "failed"):
        assert _count("twilio", "send_sms", outcome) == before[outcome] + 1, outcome

    mail = OutgoingEmail(
        to="cliente@example.com",
        to_name=None,
        subject="Renovación",
        text="Hola",
        html=None,
        message_id="m-1",
        rfc_message_id="<m-1@aintech.example>",
    )
    ok, failed = _count("sendgrid", "send_email", "ok"), _count("sendgrid", "send_email", "failed")
    await providers.email.send_email(mail)
    sendgrid.failures.append(500)
    with pytest.raises(ProviderError):
        await providers.email.send_email(mail)
    assert _count("sendgrid", "send_email", "ok") == ok + 1
    assert _count("sendgrid", "send_email", "failed") == failed + 1
    timed = REGISTRY.get_sample_value(
        "provider_request_duration_seconds_count", {"provider": "sendgrid", "operation": "send_email"}
    )
    assert timed is not None and timed >= 2
