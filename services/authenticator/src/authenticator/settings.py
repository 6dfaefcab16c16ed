"""Configuration of authenticator (shared AINTECH_* variables plus AUTHENTICATOR_* ones)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from pydantic import AliasChoices, Field, SecretStr

from aintech_shared.settings import ServiceSettings

DEV_KEY_ENCRYPTION_SECRET = "aintech-development-key-encryption-secret"  # noqa: S105
DEV_OAUTH_SECRET = "dev-oauth-client-secret"  # noqa: S105
DEFAULT_SEED_PASSWORD = "Aintech-Demo-2026!"  # noqa: S105

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
OWASP_ARGON2_MEMORY_KIB = 19 * 1024
OWASP_ARGON2_TIME_COST = 2
OWASP_ARGON2_PARALLELISM = 1

GOOGLE_DISCOVERY_URL = "https://accounts.google.com/.well-known/openid-configuration"
MICROSOFT_DISCOVERY_URL = "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"


@dataclass(frozen=True)
class OAuthProviderConfig:
    """Where an OpenID Connect provider lives and how this service is registered with it."""

    name: str
    client_id: str
    client_secret: str
    discovery_url: str | None
    issuer: str | None
    authorize_url: str | None
    token_url: str | None
    jwks_url: str | None
    scope: str

    @property
    def configured(self) -> bool:
        return bool(self.client_id and (self.discovery_url or (self.authorize_url and self.token_url)))


class Settings(ServiceSettings, service="authenticator"):
    """Name, schema, port and the AUTHENTICATOR_ prefix come from the fleet registry."""

    # Tokens and sessions
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=3600)
    refresh_reuse_grace_seconds: int = Field(
        default=10,
        ge=0,
        le=60,
        description="A token rotated this recently, presented again by the same device (IP and user "
        "agent), gets a fresh pair instead of revoking the session: concurrent tabs. 0 disables it.",
    )
    two_factor_challenge_ttl_seconds: int = Field(default=300, ge=60, le=900)
    two_factor_challenge_max_attempts: int = Field(default=5, ge=1)
    email_verification_ttl_seconds: int = Field(default=48 * 3600, ge=600)
    email_change_ttl_seconds: int = Field(default=24 * 3600, ge=600, le=7 * 24 * 3600)
    password_reset_ttl_seconds: int = Field(default=3600, ge=300, le=24 * 3600)
    oauth_state_ttl_seconds: int = Field(default=600, ge=60)
    step_up_max_age_seconds: int = Field(
        default=600,
        ge=0,
        le=24 * 3600,
        description="Security changes (2FA, recovery codes, e-mail change) are allowed without the current "
        "password for this long after a sign-in or a password confirmation; 0 always asks for it.",
    )

    # Flows that send e-mail: limits per client IP and per address, counted over an hour
    signup_max_per_ip_per_hour: int = Field(default=20, ge=1)
    signup_max_per_address_per_hour: int = Field(default=3, ge=1)
    password_reset_max_per_hour: int = Field(default=3, ge=1, description="Reset e-mails per address.")
    password_reset_max_per_ip_per_hour: int = Field(default=20, ge=1)
    verification_resend_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    verification_resend_max_per_hour: int = Field(default=5, ge=1)
    email_change_max_per_hour: int = Field(default=3, ge=1)

    # Signing keys
    signing_key_size: int = Field(default=2048, ge=2048)
    signing_key_rotation_days: int = Field(default=30, ge=1)
    key_cache_seconds: float = Field(default=30.0, ge=0)
    key_encryption_key: SecretStr = Field(
        default=SecretStr(DEV_KEY_ENCRYPTION_SECRET),
        description="Secret that encrypts private signing keys and TOTP secrets at rest "
        "(a 32-byte base64 value, or any long passphrase).",
    )

    # Password hashing (Argon2id); production refuses anything weaker than OWASP's minimum.
    password_hash_memory_kib: int = Field(default=OWASP_ARGON2_MEMORY_KIB, ge=8)
    password_hash_time_cost: int = Field(default=OWASP_ARGON2_TIME_COST, ge=1)
    password_hash_parallelism: int = Field(default=OWASP_ARGON2_PARALLELISM, ge=1)

    # Sign-in throttling: per account and client address (the guesser), per account from anywhere
    # (a brake on distributed guessing, far higher; devices that signed in before are exempt), and
    # per client address across accounts (password spraying).
    login_free_attempts_per_account_ip: int = Field(default=3, ge=1)
    login_lockout_after_per_account_ip: int = Field(default=8, ge=2)
    login_free_attempts_per_account: int = Field(default=50, ge=1)
    login_lockout_after_per_account: int = Field(default=100, ge=2)
    login_free_attempts_per_ip: int = Field(default=10, ge=1)
    login_lockout_after_per_ip: int = Field(default=50, ge=2)
    login_delay_base_seconds: float = Field(default=1.0, ge=0)
    login_delay_max_seconds: float = Field(default=60.0, ge=0)
    login_lockout_seconds: int = Field(default=900, ge=1)
    login_failure_window_seconds: int = Field(default=3600, ge=60)

    # Links, proxies and URLs
    app_base_url: str = Field(
        default="http://localhost:3000", description="Front-end origin used in e-mailed links."
    )
    public_base_url: str | None = Field(
        default=None,
        description="This API's public base URL (e.g. https://api.example.com/api/auth); when unset it is "
        "derived from the request and X-Forwarded-Proto/Host/Prefix sent by a trusted proxy.",
    )
    totp_issuer: str = "AINTECH"

    # OAuth / OpenID Connect providers
    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr(DEV_OAUTH_SECRET)
    google_discovery_url: str | None = GOOGLE_DISCOVERY_URL
    google_issuer: str | None = None
    google_authorize_url: str | None = None
    google_token_url: str | None = None
    google_jwks_url: str | None = None
    microsoft_client_id: str = ""
    microsoft_client_secret: SecretStr = SecretStr(DEV_OAUTH_SECRET)
    microsoft_discovery_url: str | None = MICROSOFT_DISCOVERY_URL
    microsoft_issuer: str | None = None
    microsoft_authorize_url: str | None = None
    microsoft_token_url: str | None = None
    microsoft_jwks_url: str | None = None
    oauth_http_timeout_seconds: float = Field(default=10.0, gt=0)

    # Demo accounts created by ``python -m authenticator.seed``
    seed_password: SecretStr = Field(
        default=SecretStr(DEFAULT_SEED_PASSWORD), validation_alias=AliasChoices("AINTECH_SEED_PASSWORD")
    )

    def insecure_defaults(self) -> list[str]:
        problems = super().insecure_defaults()
        prefix = self.env_prefix()
        if self.key_encryption_key.get_secret_value() == DEV_KEY_ENCRYPTION_SECRET:
            problems.append(f"{prefix}KEY_ENCRYPTION_KEY")
        for provider in self.oauth_providers().values():
            if provider.configured and provider.client_secret == DEV_OAUTH_SECRET:
                problems.append(f"{prefix}{provider.name.upper()}_CLIENT_SECRET")
        if (
            self.password_hash_memory_kib < OWASP_ARGON2_MEMORY_KIB
            or self.password_hash_time_cost < OWASP_ARGON2_TIME_COST
        ):
            problems.append(f"{prefix}PASSWORD_HASH_* (below the OWASP Argon2id minimum)")
        return problems

    def key_encryption_bytes(self) -> bytes:
        """The 32-byte AES key derived from ``key_encryption_key``."""
        raw = self.key_encryption_key.get_secret_value()
        try:
            decoded = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        except ValueError:
            decoded = b""
        if len(decoded) == 32:
            return decoded
        return hashlib.sha256(raw.encode()).digest()

    def oauth_providers(self) -> dict[str, OAuthProviderConfig]:
        """Every supported provider with its configuration (configured or not)."""
        return {
            "google": OAuthProviderConfig(
                name="google",
                client_id=self.google_client_id,
                client_secret=self.google_client_secret.get_secret_value(),
                discovery_url=self.google_discovery_url,
                issuer=self.google_issuer,
                authorize_url=self.google_authorize_url,
                token_url=self.google_token_url,
                jwks_url=self.google_jwks_url,
                scope="openid email profile",
            ),
            "microsoft": OAuthProviderConfig(
                name="microsoft",
                client_id=self.microsoft_client_id,
                client_secret=self.microsoft_client_secret.get_secret_value(),
                discovery_url=self.microsoft_discovery_url,
                issuer=self.microsoft_issuer,
                authorize_url=self.microsoft_authorize_url,
                token_url=self.microsoft_token_url,
                jwks_url=self.microsoft_jwks_url,
                scope="openid email profile",
            ),
        }
