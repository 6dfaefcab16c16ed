"""Phone numbers: E.164 normalisation and the toll-fraud rules for outbound calls."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_REFUSED_TYPES = {PhoneNumberType.PREMIUM_RATE: "premium-rate", PhoneNumberType.SHARED_COST: "shared-cost"}


def to_e164(raw: str, *, default_region: str = "ES") -> str | None:
    """The number in E.164, or None when it is not a valid phone number."""
    if not raw or len(raw) > 40 or "\x00" in raw:
        return None
    try:
        number = phonenumbers.parse(raw, default_region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def caller_e164(raw: str) -> str:
    """A caller id as Twilio sent it, normalised when possible (``anonymous`` and clients kept)."""
    return to_e164(raw) or raw.strip()[:40]


def outbound_refusal(e164: str, *, allowed_regions: list[str]) -> str | None:
    """Why an agent may not dial ``e164`` (toll fraud), or None when the call is allowed."""
    number = phonenumbers.parse(e164, None)
    region = phonenumbers.region_code_for_number(number)
    if region not in allowed_regions:
        return f"calls to {region or 'this destination'} (+{number.country_code}) are not allowed"
    kind = _REFUSED_TYPES.get(phonenumbers.number_type(number))
    if kind:
        return f"{kind} numbers cannot be called"
    national = str(number.national_number)
    if region == "ES" and national[:2] in {"80", "90"}:
        return "Spanish 80x/90x special-rate numbers cannot be called"
    return None
