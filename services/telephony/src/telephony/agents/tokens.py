"""Twilio Access Tokens for the browser softphone (official SDK's AccessToken + VoiceGrant)."""

from __future__ import annotations

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from telephony.agents.schemas import VoiceToken
from telephony.settings import Settings

CONSOLE_API_KEY = "SK" + "0" * 32
CONSOLE_TWIML_APP = "AP" + "0" * 32


def voice_token(settings: Settings, *, identity: str) -> VoiceToken:
    """A short-lived token whose identity is the agent's user id."""
    ttl = settings.access_token_ttl_seconds
    grant = VoiceGrant(
        outgoing_application_sid=settings.twilio_twiml_app_sid or CONSOLE_TWIML_APP, incoming_allow=True
    )
    token = AccessToken(
        settings.account_sid,
        settings.twilio_api_key_sid or CONSOLE_API_KEY,
        settings.twilio_api_key_secret.get_secret_value(),
        identity=identity,
        ttl=ttl,
        grants=[grant],
    )
    return VoiceToken(token=token.to_jwt(), identity=identity, expires_in=ttl, console=settings.console_mode)
