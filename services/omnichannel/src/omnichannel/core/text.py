"""Free text from outside: NUL bytes refused, control characters kept out of one-line fields."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


def one_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\x00"):
        raise ValueError("must be a single line")
    return value


def clean(value: str | None, max_length: int | None = None) -> str:
    """Inbound text from a provider, stored as text: NUL bytes dropped (Postgres refuses them)."""
    out = (value or "").replace("\x00", "")
    return out[:max_length] if max_length is not None else out


# A message body; beyond OMNICHANNEL_MAX_TEXT_CHARS (1600, what WhatsApp and SMS take) it is a 413.
MessageBody = Annotated[str, StringConstraints(min_length=1, max_length=65536), AfterValidator(no_nul)]
ChatBody = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(no_nul)]
NoteBody = Annotated[str, StringConstraints(min_length=1, max_length=4000), AfterValidator(no_nul)]
# E-mail bodies are bounded by bytes (OMNICHANNEL_MAX_EMAIL_BYTES, 413 beyond), not here.
EmailBody = Annotated[str, AfterValidator(no_nul)]
# One line with something on it, as the document says it (`pattern`): no CR, LF or NUL, and at least
# one character that is not a space or tab. The rule is judged on the text as sent; the surrounding
# spaces and tabs are trimmed afterwards (trimming first would accept what the schema calls too long,
# and refuse a blank the schema allows).
ONE_LINE_PATTERN = r"^[^\r\n\x00]*[^\r\n\x00\t ][^\r\n\x00]*$"


def _trim(value: str) -> str:
    return value.strip(" \t")


Subject = Annotated[
    str, StringConstraints(min_length=1, max_length=500, pattern=ONE_LINE_PATTERN), AfterValidator(_trim)
]
Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[\w .:/-]+$"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(one_line)
]
Segment = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(one_line)
]
