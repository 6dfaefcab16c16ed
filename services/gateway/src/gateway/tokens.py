"""Access tokens checked at the edge: RS256 verified once per token, the denylist on every call."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from aintech_shared.auth import JWKSCache, Principal, TokenVerifier
from aintech_shared.edge import EdgeIdentity, IdentitySigner
from aintech_shared.errors import Unauthorized
from gateway.denylist import SessionDenylist
from gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified token: who it is, until when, and its identity ready for the header."""

    principal: Principal
    expires_at: float
    identity: str  # EdgeIdentity.encode(), signed per request


class EdgeAuth:
    """Verifies bearer tokens with the chassis' verifier and remembers the good ones until ``exp``."""

    def __init__(self, settings: Settings, denylist: SessionDenylist, verifier: TokenVerifier | None = None):
        self.verifier = verifier or TokenVerifier(
            JWKSCache(settings.jwks_url), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        self.denylist = denylist
        self.signer = IdentitySigner(settings.identity_secret.get_secret_value())
        self.capacity = settings.token_cache_size
        self._cache: OrderedDict[str, Verified] = OrderedDict()

    async def authenticate(self, token: str) -> Verified:
        """The verified token; :class:`Unauthorized` when invalid, expired or of a revoked session."""
        now = time.time()
        verified = self._cache.get(token)
        if verified is None or verified.expires_at <= now:
            verified = await self._verify(token)
        else:
            self._cache.move_to_end(token)
        if self.denylist.is_denied(verified.principal.session_id, now):
            raise Unauthorized("This session has been signed out; sign in again.")
        return verified

    async def _verify(self, token: str) -> Verified:
        self._cache.pop(token, None)
        principal = await self.verifier.verify(token)
        exp = principal.claims["exp"]
        identity = EdgeIdentity(
            user_id=principal.user_id,
            session_id=principal.session_id,
            role=principal.role.value,
            permissions=principal.permissions,
            expires_at=int(exp),
        )
        verified = Verified(principal=principal, expires_at=float(exp), identity=identity.encode())
        self._cache[token] = verified
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return verified

    def identity_header(self, verified: Verified, request_id: str) -> str:
        return self.signer.sign(verified.identity, request_id=request_id)


def bearer_from_header(value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
