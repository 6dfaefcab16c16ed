"""Phone numbers in one canonical form (E.164, parsed with phonenumbers; Spain is the default region).

* :func:`to_e164` — a number in E.164, or None when it is not a valid phone number;
* :func:`parse_e164` — the same, raising ``ValueError`` with a message fit for a 422
  (:func:`optional_e164`: None for blank);
* :data:`E164Phone` / :data:`OptionalE164Phone` — the pydantic field types built on it;
* :func:`caller_id` — the address a provider (Twilio voice, SMS, WhatsApp) gives for a caller or a
  sender, in E.164 when it is a phone number and as sent otherwise (``anonymous``, ``client:…``).
"""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, Field, StringConstraints

DEFAULT_REGION = "ES"
MAX_INPUT = 40  # longer text is not a phone number (and is not parsed)
WHATSAPP_PREFIX = "whatsapp:"


def to_e164(
    value: str | None, *, region: str = DEFAULT_REGION, bare_international: bool = False
) -> str | None:
    """``value`` (international, or national for ``region``) in E.164; None when it is not a valid number.

    With ``bare_international`` a run of more than nine digits is first read as an international
    number without its ``+`` (how WhatsApp writes sender ids: ``34612345678``).
    """
    if value is None:
        return None
    raw = value.strip()
    if not raw or len(raw) > MAX_INPUT or "\x00" in raw:
        return None
    candidates = [raw]
    if bare_international and raw[0].isdigit() and len(raw) > 9:
        candidates.insert(0, "+" + raw)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_e164(value: str, *, region: str = DEFAULT_REGION) -> str:
    """``value`` in E.164, or ``ValueError`` saying why it is not a phone number."""
    if len(value) > MAX_INPUT or "\x00" in value:
        raise ValueError("is not a phone number")
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError("is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def optional_e164(value: str | None) -> str | None:
    """None for a missing or blank value, else :func:`parse_e164` of it."""
    return None if value is None or not value.strip() else parse_e164(value)


E164Phone = Annotated[
    str,
    StringConstraints(max_length=MAX_INPUT),
    AfterValidator(parse_e164),
    Field(description="International (E.164) or Spanish national number; stored in E.164."),
]
"""A required phone number field: validated and normalised to E.164 (422 when it is not one)."""

OptionalE164Phone = Annotated[
    str | None,
    StringConstraints(max_length=MAX_INPUT),
    AfterValidator(optional_e164),
    Field(default=None, description="International (E.164) or Spanish national number; blank means none."),
]
"""An optional phone number field: blank or null is None, anything else must be a valid number."""


def strip_whatsapp(value: str) -> str:
    """``whatsapp:+34612345678`` -> ``+34612345678`` (the channel prefix Twilio puts on addresses)."""
    return value[len(WHATSAPP_PREFIX) :] if value.lower().startswith(WHATSAPP_PREFIX) else value


def caller_id(value: str, *, limit: int = MAX_INPUT) -> str:
    """A caller's or sender's address as a provider gave it: E.164 when it is a phone number
    (WhatsApp prefix and bare international digits accepted), else the text as sent, cut to ``limit``."""
    bare = strip_whatsapp(value).strip()
    return to_e164(bare, bare_international=True) or bare[:limit]
