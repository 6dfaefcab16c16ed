"""Optimistic locking over HTTP: ETag = the record's version, If-Match required on updates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from aintech_shared.errors import AppError
from aintech_shared.idempotency import PreconditionRequired

__all__ = ["IfMatch", "PreconditionFailed", "PreconditionRequired", "check_version", "expected_version"]


class PreconditionFailed(AppError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=100,
        description='The ETag of the version you read (e.g. `"3"`); a stale one answers 412.',
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def expected_version(if_match: str | None, *, required: bool = True) -> int | None:
    """The version an ``If-Match`` header names; 428 when it is required and missing."""
    if if_match is None or not if_match.strip():
        if required:
            raise PreconditionRequired("Send If-Match with the ETag you read, so no change is lost.")
        return None
    value = if_match.strip()
    if value == "*":
        return None
    value = value.removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 9:
        raise PreconditionFailed("If-Match does not name a version of this record.")
    return int(value)


def check_version(current: int, expected: int | None) -> None:
    """412 when the record changed since the client read it."""
    if expected is not None and current != expected:
        raise PreconditionFailed(
            f"The record changed since you read it (version {current}, you sent {expected}); "
            "fetch it again and reapply your change.",
            current_version=current,
        )
