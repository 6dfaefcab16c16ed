"""Configuration of core_crm (shared AINTECH_* variables plus CORE_CRM_* ones)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from decimal import Decimal

from pydantic import AliasChoices, Field, SecretStr, field_validator

from aintech_shared.settings import ServiceSettings

DEV_IDENTIFIER_DIGEST_KEY = "dev-identifier-digest-key-not-for-production"


class Settings(ServiceSettings, service="core_crm"):
    """Name, schema, port and the CORE_CRM_ prefix come from the fleet registry."""

    # The key of the DNI/IBAN digests in customer events (``aintech_contracts.identifiers``).
    identifier_digest_key: SecretStr = Field(
        default=SecretStr(DEV_IDENTIFIER_DIGEST_KEY),
        validation_alias=AliasChoices("AINTECH_IDENTIFIER_DIGEST_KEY"),
        description="HMAC key of `dni_digest`/`iban_digest` in customer events (32+ random bytes). "
        "Changing it changes every digest: see docs/decisions/0096.",
    )

    # Policies and quotes
    expiring_warning_days: int = Field(
        default=30, ge=1, le=180, description="How long before a term ends `policy.expiring_soon` is sent."
    )
    quote_validity_days: int = Field(default=30, ge=1, le=365, description="Default life of a new quote.")
    backdate_grace_days: int = Field(
        default=30,
        ge=0,
        le=3650,
        description="How far before today a new policy's cover may start (created or converted "
        "from a quote). Earlier starts need a supervisor and a recorded `backdating_reason`.",
    )

    auto_renew_lead_days: int = Field(
        default=30,
        ge=1,
        le=180,
        description="How long before its due date a policy set to renew automatically is priced again.",
    )
    auto_renew_max_rise_percent: Decimal = Field(
        default=Decimal("10"),
        ge=0,
        le=1000,
        description="An automatic renewal whose annual premium rises by more than this (percent) is "
        "not renewed: the agent gets a task instead.",
    )

    # Claims: who may be assigned as adjuster. Empty: every active agent or supervisor known from
    # the authenticator's `auth.user` events (the local read model of staff accounts).
    adjuster_ids: list[str] = Field(default_factory=list)
    document_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest claim document accepted (413 above). The gateway's body limit (10 MB by "
        "default) caps it from outside.",
    )

    # Workflows
    webhook_allowlist: list[str] = Field(
        default_factory=list,
        description="Hosts or networks (CIDR) `call_webhook` may reach although they are private, "
        "loopback or link-local. Public addresses need no entry.",
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    workflow_tick_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="The workflow worker's safety poll: it is woken by a NOTIFY when an execution is "
        "queued or retried and at the earliest waiting step's due time.",
    )
    workflow_batch_size: int = Field(default=20, ge=1, le=500)

    # Outbound webhooks (integrations): same SSRF rules and allow-list as workflow webhooks.
    integration_tick_seconds: float = Field(
        default=30.0,
        gt=0,
        le=300,
        description="The webhook delivery job's safety poll: it is woken by a NOTIFY when deliveries "
        "are queued (an event, a replay, a subscription switched on) and at the earliest retry's due time.",
    )
    integration_batch_size: int = Field(default=50, ge=1, le=1000)
    integration_retry_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 7,
        description="How long a failing delivery is retried before it fails and its subscription is "
        "disabled (with a task for the admin who created it).",
    )
    integration_backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    integration_backoff_max_seconds: float = Field(default=3600.0, gt=0, le=24 * 3600)

    # Inbound leads: the HMAC secret of each source (`/webhooks/leads/<source>`); an unknown source is 404.
    lead_sources: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='JSON object of source name -> secret, e.g. {"web": "…", "zapier": "…"}.',
    )
    lead_signature_tolerance_seconds: int = Field(default=300, ge=30, le=3600)

    @field_validator("lead_sources")
    @classmethod
    def _source_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,49}", name):
                raise ValueError(f"lead source {name!r}: lower-case letters, digits, - and _ (max 50)")
            if len(secret.get_secret_value()) < 16:
                raise ValueError(f"lead source {name!r}: the secret needs at least 16 characters")
        return value

    # Calls and messages from unknown numbers that nobody links or dismisses are purged after this.
    unmatched_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days an unmatched call or message may stay open before the daily job deletes it.",
    )

    @field_validator("adjuster_ids")
    @classmethod
    def _uuids(cls, value: list[str]) -> list[str]:
        return [str(uuid.UUID(item)) for item in value]

    @field_validator("webhook_allowlist")
    @classmethod
    def _valid_entries(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            item = item.strip().lower()
            if not item:
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                if not all(part.isalnum() or "-" in part for part in item.split(".")):
                    raise ValueError(f"{item!r} is neither a host name nor a network") from None
            out.append(item)
        return out

    @field_validator("identifier_digest_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("the identifier digest key needs at least 16 characters")
        return value

    @property
    def identifier_key(self) -> bytes:
        """The key of the identifier digests, as bytes."""
        return self.identifier_digest_key.get_secret_value().encode()

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        if self.identifier_digest_key.get_secret_value() == DEV_IDENTIFIER_DIGEST_KEY:
            problems.append("AINTECH_IDENTIFIER_DIGEST_KEY")
        return problems
