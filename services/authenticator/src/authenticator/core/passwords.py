"""Argon2id password hashing off the event loop, and the password policy."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import anyio.to_thread
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher

MIN_LENGTH = 8
MAX_LENGTH = 128
_DUMMY_PASSWORD = "aintech-dummy-password-for-timing"  # noqa: S105


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of most common breached passwords, lower-cased."""
    text = resources.files("authenticator.core.data").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Every way ``password`` breaks the policy (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        problems.append(f"must be at most {MAX_LENGTH} characters long")
    if not re.search(r"[A-Z]", password):
        problems.append("must contain an upper-case letter")
    if not re.search(r"[a-z]", password):
        problems.append("must contain a lower-case letter")
    if not re.search(r"\d", password):
        problems.append("must contain a digit")
    if not re.search(r"[^A-Za-z0-9]", password):
        problems.append("must contain a symbol")
    if password.lower() in common_passwords():
        problems.append("is one of the most commonly breached passwords")
    if email:
        local = email.split("@", 1)[0].lower()
        if len(local) >= 4 and local in password.lower():
            problems.append("must not contain your e-mail address")
    return problems


class PasswordHasher:
    """Argon2id through pwdlib; hashing and verification run in a worker thread."""

    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism),)
        )
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, stored_hash: str | None) -> tuple[bool, str | None]:
        """Check ``password``; returns (valid, new hash when the parameters changed).

        With no stored hash (unknown user, OAuth-only account) a dummy hash is verified instead,
        so the response takes as long as for a real account.
        """
        if stored_hash is None:
            await anyio.to_thread.run_sync(self._hash.verify, password, await self._dummy())
            return False, None
        try:
            return await anyio.to_thread.run_sync(self._hash.verify_and_update, password, stored_hash)
        except UnknownHashError:
            return False, None

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(_DUMMY_PASSWORD)
        return self._dummy_hash

    async def warm_up(self) -> None:
        """Compute the dummy hash before the first login arrives."""
        await self._dummy()
