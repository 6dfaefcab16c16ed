"""Personal identifiers (DNI/NIE/CIF, IBAN) as they travel between services: keyed digests.

An event never carries a customer's document number or bank account in clear: a reader of the
topic (or of a consumer's store) would collect every customer's. What a consumer needs of them is
equality (two customers sharing an account or a document), which a keyed digest keeps:
``HMAC-SHA256(key, compact(value))`` in hex, where ``compact`` is the value upper-cased with
everything but letters and digits removed (``"es91 2100-0418…"`` and ``"ES912100…"`` are the same
account). The key (``AINTECH_IDENTIFIER_DIGEST_KEY``) is held by the services that compute digests
(the CRM, which publishes them); a consumer that only compares digests needs no key.

Without the key a digest cannot be computed from a guessed value, so the small space of DNIs (10^8
numbers) cannot be walked to reverse it. Changing the key changes every digest: digests made
with the old key no longer equal new ones (see docs/decisions/0096).
"""

from __future__ import annotations

import hashlib
import hmac
import re

DIGEST_PATTERN = r"^[0-9a-f]{64}$"
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def compact(value: str | None) -> str | None:
    """Upper-case letters and digits only ("12345678-z" -> "12345678Z"); None when nothing is left."""
    if not value:
        return None
    out = _NOT_ALNUM.sub("", value).upper()
    return out or None


def digest(value: str | None, key: bytes) -> str | None:
    """The keyed digest of an identifier (hex HMAC-SHA256 of its compact form); None for none."""
    if not key:
        raise ValueError("an identifier digest needs a key")
    normal = compact(value)
    if normal is None:
        return None
    return hmac.new(key, normal.encode(), hashlib.sha256).hexdigest()


def last(value: str | None, n: int) -> str | None:
    """The last ``n`` characters of the compact form: enough to tell which one, not to use it."""
    normal = compact(value)
    if normal is None or len(normal) <= n:
        return None
    return normal[-n:]
