"""Phone numbers, WhatsApp sender ids and e-mail addresses in one canonical form."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "ES"


def e164(value: str | None, *, region: str = DEFAULT_REGION) -> str | None:
    """A phone number (international, or national for ``region``) in E.164; None if it is not one."""
    if value is None:
        return None
    raw = value.strip()
    if not raw or len(raw) > 40:
        return None
    candidates = [raw]
    if raw[0].isdigit() and len(raw) > 9:  # WhatsApp ids are often the E.164 digits without "+"
        candidates.insert(0, "+" + raw)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return None


def strip_whatsapp(value: str) -> str:
    """``whatsapp:+34612345678`` -> ``+34612345678`` (the channel prefix Twilio puts on addresses)."""
    return value[len("whatsapp:") :] if value.lower().startswith("whatsapp:") else value


def messaging_address(value: str) -> str:
    """The canonical address of a WhatsApp or SMS sender: E.164 when it parses, else as sent."""
    bare = strip_whatsapp(value).strip()
    return e164(bare) or bare[:320]


def email_address(value: str) -> str:
    """An e-mail address compared case-insensitively."""
    return value.strip().lower()
