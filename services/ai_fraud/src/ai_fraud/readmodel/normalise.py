"""Identifiers in one canonical form, so "ES91 2100 ..." and "es9121..." are the same account."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_STREET_WORDS = {
    "c": "calle",
    "cl": "calle",
    "avda": "avenida",
    "av": "avenida",
    "pza": "plaza",
    "pl": "plaza",
}


def _plain(value: str) -> str:
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return _NON_ALNUM.sub(" ", text).strip()


def compact(value: str | None) -> str | None:
    """Upper-case letters and digits only (DNI/NIE, IBAN, plates)."""
    if not value:
        return None
    out = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return out or None


def phone(value: str | None) -> str | None:
    if not value:
        return None
    digits = re.sub(r"[^0-9+]", "", value)
    return digits if len(digits) >= 6 else None


def email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if "@" in value else None


def name(value: str | None) -> str | None:
    """A workshop, lawyer or clinic name: accents, case and punctuation removed."""
    text = _plain(value or "")
    return text or None


def address(line1: str | None, postal_code: str | None, city: str | None = None) -> str | None:
    """Street line and postal code ("c/ Mayor, 12" and "Calle Mayor 12" match)."""
    if not line1:
        return None
    words = [_STREET_WORDS.get(w, w) for w in _plain(line1).split()]
    if not words:
        return None
    tail = (postal_code or "").strip() or _plain(city or "")
    return " ".join(words) + (f"|{tail}" if tail else "")
