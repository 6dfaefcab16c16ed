"""The toll-fraud rules for outbound calls (E.164 parsing and caller ids: aintech_shared.phones)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

_REFUSED_TYPES = {PhoneNumberType.PREMIUM_RATE: "premium-rate", PhoneNumberType.SHARED_COST: "shared-cost"}


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
