"""E-mail addresses in one canonical form (phone numbers and sender ids: aintech_shared.phones)."""

from __future__ import annotations


def email_address(value: str) -> str:
    """An e-mail address compared case-insensitively."""
    return value.strip().lower()
