"""Configuration of telephony (shared AINTECH_* variables plus TELEPHONY_* ones)."""

from __future__ import annotations

import os
from datetime import time
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator

from aintech_contracts.statuses import CustomerSegment
from aintech_shared.settings import ServiceSettings

# Signs webhooks in console mode and in development; production refuses it.
DEV_TWILIO_AUTH_TOKEN = "aintech-dev-twilio-auth-token"  # noqa: S105
DEV_TWILIO_API_KEY_SECRET = "aintech-dev-twilio-api-key-secret"  # noqa: S105
CONSOLE_ACCOUNT_SID = "AC" + "0" * 32


class Settings(ServiceSettings, service="telephony"):
    """Name, schema, port and the TELEPHONY_ prefix come from the fleet registry."""

    # Twilio account. With no account SID the console adapter simulates the REST side offline.
    twilio_account_sid: str = Field(default="", description="AC…; empty selects the console adapter.")
    twilio_auth_token: SecretStr = Field(
        default=SecretStr(DEV_TWILIO_AUTH_TOKEN),
        description="Verifies X-Twilio-Signature on every webhook (console mode included).",
    )
    twilio_api_key_sid: str = Field(default="", description="SK… used to sign agents' access tokens.")
    twilio_api_key_secret: SecretStr = SecretStr(DEV_TWILIO_API_KEY_SECRET)
    twilio_twiml_app_sid: str = Field(default="", description="AP… the browser softphone dials through.")
    twilio_phone_number: str = Field(default="+34910000000", description="Caller id of outbound calls.")
    twilio_api_base_url: str | None = Field(
        default=None,
        description="Where the SDK sends REST calls instead of https://api.twilio.com (a regional "
        "proxy, or a fake Twilio in tests).",
    )
    twilio_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # Public URLs
    public_webhook_base_url: str = Field(
        default="",
        description="Base URL Twilio reaches the gateway at; callback URLs handed to Twilio start here "
        "(default: the local gateway, http://127.0.0.1:$GATEWAY_PORT).",
    )

    # Agents' softphone tokens
    access_token_ttl_seconds: int = Field(default=3600, ge=60, le=4 * 3600)

    # Office hours (local time of ``office_timezone``); outside them callers reach voicemail.
    office_timezone: str = "Europe/Madrid"
    office_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday")
    office_opens: time = time(9, 0)
    office_closes: time = time(19, 0)

    # IVR and queue
    company_name: str = "AINTECH Seguros"
    hold_music_url: str = "https://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"
    voicemail_max_seconds: int = Field(default=120, ge=10, le=600)
    ivr_timeout_seconds: int = Field(default=6, ge=2, le=30)
    queue_escalate_after_seconds: int = Field(default=120, ge=10)
    # A caller no agent with the required skills took within this wait goes to any available agent.
    queue_widen_after_seconds: int = Field(default=60, ge=0, le=3600)
    # Recordings: copied from Twilio into the platform's object store, then deleted there when set;
    # purged from the store after the retention period.
    recording_retention_days: int = Field(default=365, ge=1, le=3650)
    delete_recordings_at_provider: bool = True
    recordings_archive_every_seconds: int = Field(default=30, ge=1, le=3600)
    transcribe_recorded_calls: bool = Field(
        default=True,
        description="A live call whose recording starts is transcribed by Twilio's Real-Time "
        "Transcription (never a call whose caller refused recording); the transcript goes to the CRM.",
    )
    transcribe_every_seconds: int = Field(
        default=2,
        ge=1,
        le=60,
        description="How soon the worker tries again while a transcription is still to be requested.",
    )
    transcribe_safety_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="The transcription job's safety poll: it is woken by a NOTIFY when a call's "
        "transcription becomes pending.",
    )
    # Service level: the share of callers answered within this many seconds of joining the queue.
    service_level_seconds: int = Field(default=20, ge=1, le=600)
    ring_timeout_seconds: int = Field(default=30, ge=5, le=300)
    auto_assign_every_seconds: float = Field(default=5.0, gt=0, le=60)
    vip_segments: list[CustomerSegment] = Field(
        default_factory=lambda: [CustomerSegment.vip],
        description="CRM segments (the contracts' CustomerSegment) whose callers move up a level.",
    )

    # Toll-fraud guards on outbound calls
    allowed_countries: list[str] = Field(
        default_factory=lambda: ["ES", "PT", "FR", "IT", "DE", "IE"],
        description="ISO regions an agent may call; premium-rate and shared-cost numbers never.",
    )
    outbound_calls_per_window: int = Field(default=20, ge=1)
    outbound_window_seconds: int = Field(default=3600, ge=60)

    # Signalling: how often an open room checks that its call is still live (closed 4410 once ended).
    signalling_recheck_seconds: float = Field(default=5.0, gt=0, le=60)

    # Console adapter: seconds between the simulated statuses of a call.
    console_step_seconds: float = Field(default=1.5, ge=0.05, le=60)

    @model_validator(mode="after")
    def _local_gateway_by_default(self) -> Settings:
        if not self.public_webhook_base_url:
            port = os.environ.get("GATEWAY_PORT", "8000")
            self.public_webhook_base_url = f"http://127.0.0.1:{port if port.isdigit() else 8000}"
        self.public_webhook_base_url = self.public_webhook_base_url.rstrip("/")
        if self.is_production and not self.public_webhook_base_url.startswith("https://"):
            raise ValueError("TELEPHONY_PUBLIC_WEBHOOK_BASE_URL must be the public https URL in production")
        return self

    @field_validator("vip_segments", mode="before")
    @classmethod
    def _segments_in_lower_case(cls, value: object) -> object:
        return [v.lower() if isinstance(v, str) else v for v in value] if isinstance(value, list) else value

    @field_validator("office_timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value

    @field_validator("allowed_countries")
    @classmethod
    def _regions_upper(cls, value: list[str]) -> list[str]:
        return [v.strip().upper() for v in value if v.strip()]

    @property
    def console_mode(self) -> bool:
        """No Twilio account configured: outbound REST traffic is simulated and recorded."""
        return not self.twilio_account_sid

    @property
    def account_sid(self) -> str:
        return self.twilio_account_sid or CONSOLE_ACCOUNT_SID

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        prefix = self.env_prefix()
        if self.twilio_auth_token.get_secret_value() == DEV_TWILIO_AUTH_TOKEN:
            problems.append(f"{prefix}TWILIO_AUTH_TOKEN")
        if self.twilio_api_key_secret.get_secret_value() == DEV_TWILIO_API_KEY_SECRET:
            problems.append(f"{prefix}TWILIO_API_KEY_SECRET")
        if self.console_mode:
            problems.append(f"{prefix}TWILIO_ACCOUNT_SID (console mode)")
        return problems
