"""The RS256 key store: keys live in `auth.signing_keys`, private halves sealed with the KEK."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio.to_thread
import jwt
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.auth import JWKSCache
from aintech_shared.db import Database
from authenticator.core.base import utcnow
from authenticator.core.crypto import Sealer
from authenticator.settings import Settings
from authenticator.tokens import repository
from authenticator.tokens.models import SigningKey

log = structlog.get_logger("authenticator.keys")

ALGORITHM = repository.ALGORITHM
# Retired keys stay in the JWKS for the access-token lifetime plus this margin (clock skew, caches).
PUBLISH_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class LoadedKey:
    kid: str
    private_key: rsa.RSAPrivateKey


def _generate(size: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=size)


def _public_jwk(private_key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return jwk


class KeyStore:
    """Creates, rotates and loads signing keys; caches the active key for a few seconds."""

    def __init__(self, *, sealer: Sealer, key_size: int, access_ttl: timedelta, cache_seconds: float) -> None:
        self.sealer = sealer
        self.key_size = key_size
        self.access_ttl = access_ttl
        self.cache_seconds = cache_seconds
        self._active: LoadedKey | None = None
        self._loaded_at = 0.0
        self._listeners: list[Callable[[AsyncSession], Awaitable[None]]] = []

    def on_rotation(self, listener: Callable[[AsyncSession], Awaitable[None]]) -> None:
        """Await ``listener`` (with the rotating transaction) after this process rotates the key, e.g.
        to reload a JWKS cache."""
        self._listeners.append(listener)

    def _aad(self, kid: str) -> str:
        return f"signing_keys:{kid}"

    async def _new_key(self) -> SigningKey:
        private_key = await anyio.to_thread.run_sync(_generate, self.key_size)
        kid = uuid.uuid4().hex
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return SigningKey(
            kid=kid,
            algorithm=ALGORITHM,
            public_jwk=_public_jwk(private_key, kid),
            private_key=self.sealer.seal(pem, aad=self._aad(kid)),
            created_at=utcnow(),
        )

    async def ensure_active_key(self, session: AsyncSession) -> str:
        """Create the first key when none is active; returns the active key id."""
        existing = await repository.active_key(session)
        if existing is not None:
            return existing.kid
        await repository.lock_keys(session)
        existing = await repository.active_key(session)
        if existing is not None:
            return existing.kid
        key = await self._new_key()
        await repository.add_key(session, key)
        log.info("signing_key_created", kid=key.kid)
        return key.kid

    async def rotate(self, session: AsyncSession) -> tuple[str, str | None]:
        """Retire the active key (still published until its tokens expire) and activate a new one."""
        await repository.lock_keys(session)
        now = utcnow()
        current = await repository.active_key(session)
        if current is not None:
            await repository.retire_key(
                session, kid=current.kid, now=now, publish_until=now + self.access_ttl + PUBLISH_MARGIN
            )
            await session.flush()
        key = await self._new_key()
        await repository.add_key(session, key)
        self._active = None
        for listener in self._listeners:
            await listener(session)
        log.info("signing_key_rotated", kid=key.kid, retired=current.kid if current else None)
        return key.kid, current.kid if current else None

    async def rotate_if_older_than(self, session: AsyncSession, max_age: timedelta) -> str | None:
        """Rotate when the active key is older than ``max_age``; drop keys no longer published."""
        await repository.delete_unpublished_keys(session, now=utcnow())
        current = await repository.active_key(session)
        if current is not None and utcnow() - current.created_at < max_age:
            return None
        kid, _ = await self.rotate(session)
        return kid

    async def signing_key(self, session: AsyncSession) -> LoadedKey:
        """The active private key (cached briefly so rotations by other replicas are picked up)."""
        if self._active is not None and time.monotonic() - self._loaded_at < self.cache_seconds:
            return self._active
        row = await repository.active_key(session)
        if row is None:
            await self.ensure_active_key(session)
            row = await repository.active_key(session)
            assert row is not None
        pem = self.sealer.open(row.private_key, aad=self._aad(row.kid))
        private_key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise ValueError("signing key is not an RSA key")
        self._active = LoadedKey(kid=row.kid, private_key=private_key)
        self._loaded_at = time.monotonic()
        return self._active

    async def sign(self, session: AsyncSession, claims: dict[str, Any]) -> str:
        key = await self.signing_key(session)
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})

    async def jwks(self, session: AsyncSession) -> dict[str, Any]:
        """The public key set: the active key and retired keys whose tokens may still be valid."""
        rows = await repository.published_keys(session, now=utcnow())
        return {"keys": [dict(row.public_jwk) for row in rows]}


class LocalJWKSCache(JWKSCache):
    """The shared JWKS cache, filled straight from this service's key store instead of over HTTP."""

    def __init__(self, db: Database, keys: KeyStore, *, ttl: float = 60.0) -> None:
        super().__init__("local://signing_keys", ttl=ttl, min_refresh_interval=1.0)
        self._db = db
        self._store = keys
        keys.on_rotation(self.reload)

    async def reload(self, session: AsyncSession) -> None:
        """Take the published keys as ``session`` sees them (right after this process rotated)."""
        self.set_keys(await self._store.jwks(session))

    async def _refresh(self) -> None:
        async with self._db.read() as session:
            await self.reload(session)


def build_key_store(settings: Settings, *, cache_seconds: float) -> KeyStore:
    """The signing-key store (``cache_seconds=0`` in the worker: it rotates keys, it never signs)."""
    return KeyStore(
        sealer=Sealer(settings.key_encryption_bytes()),
        key_size=settings.signing_key_size,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        cache_seconds=cache_seconds,
    )
