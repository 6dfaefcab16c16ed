"""Tables of the `auth` schema (imported here so Alembic sees the whole metadata)."""

from authenticator.accounts.models import OneTimeToken
from authenticator.audit.models import AuditLog
from authenticator.core.base import MESSAGING, Base
from authenticator.oauth.models import OAuthIdentity, OAuthState
from authenticator.sessions.models import Session
from authenticator.throttle.models import LoginThrottle, RateLimit
from authenticator.tokens.models import RefreshToken, SigningKey
from authenticator.twofactor.models import LoginChallenge, RecoveryCode
from authenticator.users.models import User

__all__ = [
    "MESSAGING",
    "AuditLog",
    "Base",
    "LoginChallenge",
    "LoginThrottle",
    "OAuthIdentity",
    "OAuthState",
    "OneTimeToken",
    "RateLimit",
    "RecoveryCode",
    "RefreshToken",
    "Session",
    "SigningKey",
    "User",
]
