"""Random tokens, their digests, constant-time comparison and authenticated encryption at rest."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_VERSION = b"\x01"


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token carrying ``nbytes`` bytes of entropy."""
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """SHA-256 hex digest under which an opaque token is stored (never the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(expected: str, candidate: str) -> bool:
    """Constant-time comparison of two digests or codes."""
    return hmac.compare_digest(expected.encode(), candidate.encode())


class Sealer:
    """AES-256-GCM encryption of secrets stored in the database (private keys, TOTP secrets).

    Each value is bound to a context string (``aad``), so a ciphertext copied to another row or
    column fails to decrypt.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the key-encryption key must be 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = hashlib.sha256(b"aintech-auth-mac:" + key).digest()

    def seal(self, plaintext: bytes, *, aad: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def open(self, sealed: bytes, *, aad: str) -> bytes:
        if sealed[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, aad.encode())
        except InvalidTag as exc:
            raise ValueError("ciphertext does not decrypt with the configured key") from exc

    def keyed_digest(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under a server-side key (for low-entropy codes stored hashed)."""
        return hmac.new(self._mac_key, value.encode(), hashlib.sha256).hexdigest()
