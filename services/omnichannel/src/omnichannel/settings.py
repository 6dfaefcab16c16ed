"""Configuration of omnichannel (shared AINTECH_* variables plus OMNICHANNEL_* ones)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from aintech_shared.settings import ServiceSettings

# Development default of the Twilio auth token: webhooks are signed and checked with it even
# when no Twilio account is configured (console mode), so an unsigned request is always refused.
DEV_TWILIO_AUTH_TOKEN = "aintech-development-twilio-auth-token"  # noqa: S105
# An exact web origin: scheme, host and optional port; no path, no wildcard.
# Staff alert kinds that may post to a Slack incoming webhook (OMNICHANNEL_SLACK_WEBHOOK_URLS).
SLACK_KINDS = ("fraud_alert", "staff_message")
_ORIGIN = re.compile(r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")


class Settings(ServiceSettings, service="omnichannel"):
    """Name, schema, port and the OMNICHANNEL_ prefix come from the fleet registry."""

    # Twilio Messaging (WhatsApp and SMS). No account SID: the console provider records instead.
    twilio_account_sid: str = ""
    twilio_auth_token: SecretStr = SecretStr(DEV_TWILIO_AUTH_TOKEN)
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio REST base URL (a fake server in tests)."
    )
    twilio_sms_from: str = Field(default="+34900000000", description="Sender number for SMS (E.164).")
    twilio_whatsapp_from: str = Field(default="+14155238886", description="WhatsApp sender (E.164).")
    twilio_messaging_service_sid: str = ""
    twilio_timeout_seconds: float = Field(default=10.0, gt=0)

    # SendGrid (e-mail). No API key: the console provider records instead.
    sendgrid_api_key: SecretStr = SecretStr("")
    sendgrid_api_host: str = Field(default="https://api.sendgrid.com", description="SendGrid API host.")
    sendgrid_webhook_public_key: str = Field(
        default="",
        description="Base64 DER (the 'Verification Key') of the signed event webhook and inbound parse. "
        "Empty: every SendGrid webhook is refused.",
    )
    sendgrid_webhook_max_age_seconds: int = Field(default=600, ge=30)
    email_from: str = "no-reply@aintech.es"
    email_from_name: str = "AINTECH Seguros"
    email_reply_domain: str = Field(
        default="reply.aintech.es", description="Inbound parse domain: replies go to <conversation>@domain."
    )

    # Public URLs (signature checks and status callbacks)
    public_base_url: str | None = Field(
        default=None,
        description="Public base URL of the platform (e.g. https://api.aintech.es). When unset, the URL a "
        "provider called is rebuilt from X-Forwarded-Proto/Host sent by a trusted proxy.",
    )

    # Limits (messages cost money)
    send_limit_per_user_per_minute: int = Field(default=30, ge=1)
    send_limit_per_recipient_per_hour: int = Field(default=10, ge=1)
    chat_limit_per_user_per_minute: int = Field(default=60, ge=1)
    max_text_chars: int = Field(default=1600, ge=1)
    max_email_bytes: int = Field(default=1_000_000, ge=1024)
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_webhook_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)

    # Delivery
    dispatch_batch_size: int = Field(default=50, ge=1, le=1000)
    dispatch_max_attempts: int = Field(default=5, ge=1)
    dispatch_claim_timeout_seconds: int = Field(
        default=120, ge=10, description="A message left 'sending' this long is failed, never resent."
    )
    dispatch_safety_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="The dispatcher and the Slack poster are woken by a NOTIFY of their work and at "
        "its next retry time; they also look this often (a notification lost on a reconnection).",
    )
    campaign_default_rate_per_minute: int = Field(default=60, ge=1, le=6000)
    parked_delivery_max_wait_seconds: int = Field(
        default=3600,
        ge=60,
        description="How long a customer event waits for its customer to be known before it is expired "
        "(nothing sent, listed under /deliveries/parked?status=expired).",
    )

    # Live chat and the inbox
    chat_heartbeat_seconds: float = Field(default=25.0, gt=0)
    widget_origins: list[str] = Field(
        default_factory=list,
        description="Web origins (e.g. https://www.aintech.es) whose pages may embed the chat widget in a "
        "frame, besides the platform's own. Exact scheme://host[:port]; no wildcard.",
    )
    default_agent_capacity: int = Field(default=5, ge=1, le=100)
    routing_widen_after_seconds: int = Field(
        default=120,
        ge=0,
        le=86_400,
        description="A conversation no online agent with its skills (topic, language) took within this "
        "wait goes to any agent with room (0: at once).",
    )

    # Slack (staff alerts): one incoming webhook URL per kind; a kind without one is not posted.
    slack_webhook_urls: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Slack incoming webhook URL per staff alert kind, as JSON: "
        '{"fraud_alert": "https://hooks.slack.com/services/..."}. Kinds: fraud_alert, staff_message. '
        "The URLs are secrets (never logged).",
    )
    slack_timeout_seconds: float = Field(default=10.0, gt=0)
    slack_attempts_per_round: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Posts tried in a row (exponential backoff) before the post waits.",
    )
    slack_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="First wait between tries of a Slack post; doubles each try."
    )
    slack_max_rounds: int = Field(
        default=5,
        ge=1,
        description="Rounds (each up to slack_attempts_per_round tries) before a post is failed.",
    )

    @field_validator("slack_webhook_urls")
    @classmethod
    def _slack_kinds(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for kind, url in value.items():
            if kind not in SLACK_KINDS:
                raise ValueError(f"not a staff alert kind: {kind!r} (one of {', '.join(SLACK_KINDS)})")
            if not url.get_secret_value().startswith(("https://", "http://")):
                raise ValueError(f"the Slack webhook of {kind!r} is not an http(s) URL")
        return value

    @field_validator("widget_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        cleaned = [origin.strip().rstrip("/").lower() for origin in value]
        for origin in cleaned:
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"not an exact web origin (scheme://host[:port]): {origin!r}")
        return cleaned

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def sendgrid_configured(self) -> bool:
        return bool(self.sendgrid_api_key.get_secret_value())

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        prefix = self.env_prefix()
        if self.twilio_auth_token.get_secret_value() == DEV_TWILIO_AUTH_TOKEN:
            problems.append(f"{prefix}TWILIO_AUTH_TOKEN")
        # Without these, production would "send" to the console provider (customers get nothing) or
        # refuse every provider webhook.
        if not self.twilio_account_sid:
            problems.append(f"{prefix}TWILIO_ACCOUNT_SID")
        if not self.sendgrid_api_key.get_secret_value():
            problems.append(f"{prefix}SENDGRID_API_KEY")
        if not self.sendgrid_webhook_public_key:
            problems.append(f"{prefix}SENDGRID_WEBHOOK_PUBLIC_KEY")
        if not self.public_base_url:
            problems.append(f"{prefix}PUBLIC_BASE_URL")
        return problems
