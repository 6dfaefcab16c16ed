"""What every request must look like before a domain sees it.

* Text never carries NUL characters (Postgres cannot store them): request bodies inherit
  :class:`RequestModel`; query and path parameters are checked by :func:`no_nul_characters`,
  which every router declares.
* Instants are aware, inside the calendar and in UTC (:data:`Instant`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, field_validator

from aintech_shared.errors import UnprocessableEntity
from aintech_shared.instants import Instant as SharedInstant

NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and NUL in value:
        raise ValueError(NUL_MESSAGE)
    return value


class RequestModel(BaseModel):
    """Base of every request body: a NUL character in any text field is a field error (422)."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _without_nul(value)


async def no_nul_characters(request: Request) -> None:
    """Refuse a NUL character in any query or path parameter with a field error (422)."""
    errors = [
        {"location": location, "field": name, "message": NUL_MESSAGE, "type": "nul_character"}
        for location, items in (
            ("query", request.query_params.multi_items()),
            ("path", request.path_params.items()),
        )
        for name, value in items
        if isinstance(value, str) and NUL in value
    ]
    if errors:
        raise UnprocessableEntity(errors=errors)


# An RFC 3339 instant with a time zone, parsed strictly and kept in UTC (the chassis' type).
Instant = SharedInstant
