"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with ``SCRAPER_SECRET_KEY``.

Encrypted values never leave the service: the API answers only whether a secret is set, and logs
never see them.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken


class Sealer:
    def __init__(self, key: str) -> None:
        raw = base64.urlsafe_b64decode(key.encode())
        if len(raw) != 32:
            raise ValueError("SCRAPER_SECRET_KEY must be 32 bytes in url-safe base64")
        self._fernet = Fernet(key.encode())

    def seal(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise ValueError("a stored secret cannot be decrypted with SCRAPER_SECRET_KEY") from None
