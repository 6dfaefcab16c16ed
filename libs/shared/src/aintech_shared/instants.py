"""Instants and calendar days parsed as strictly as the OpenAPI document promises.

Pydantic's lax mode reads ``until=0.5`` or ``"1700000000"`` as seconds since 1970 and ``0`` as the
first of January 1970: a request the schema (``format: date-time`` / ``format: date``) calls malformed
would be answered as if it were meant. ``Instant`` and ``Day`` take only what their format says:
an RFC 3339 date-time with a time zone (``2026-01-31T09:30:00Z``, ``2026-01-31T10:30:00.5+01:00``),
or an ISO 8601 calendar date (``2026-01-31``); Python ``datetime``/``date`` objects pass as they are.
Use them for every date-time or date a client sends, in query, path and body alike.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_TIME_MESSAGE = "must be an RFC 3339 date-time with a time zone, such as 2026-01-31T09:30:00Z"
DATE_MESSAGE = "must be a calendar date, such as 2026-01-31"


def _date_time_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise ValueError(DATE_TIME_MESSAGE)
    return value


def _date_text(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError(DATE_MESSAGE)
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is outside the range of dates that can be stored") from exc


# An instant with a time zone, in UTC once parsed.
Instant = Annotated[AwareDatetime, BeforeValidator(_date_time_text), AfterValidator(_in_utc)]
# An instant with the time zone it was sent with (kept: where a local hour of day means something).
ZonedInstant = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
# A calendar day.
Day = Annotated[date, BeforeValidator(_date_text)]
