"""Problem responses returned (not raised) when the transaction must still commit."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from aintech_shared.errors import PROBLEM_BASE, AppError, ProblemResponse, problem


def committed_problem(request: Request, exc: AppError) -> ProblemResponse:
    """Render ``exc`` like the shared handler, while letting the request's session commit.

    Used where a refusal must leave a trace (failed-login counters, audit rows, revoked token
    families): raising would roll those writes back.
    """
    return problem(
        exc.status,
        type_=PROBLEM_BASE + exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        headers=exc.headers,
        **exc.extra,
    )


def problem_doc(status: int, description: str, example_detail: str | None = None) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a problem+json error."""
    example: dict[str, Any] = {
        "type": PROBLEM_BASE + _slug(status),
        "title": description,
        "status": status,
        "detail": example_detail or description,
    }
    return {"description": description, "content": {"application/problem+json": {"example": example}}}


def _slug(status: int) -> str:
    return {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        409: "conflict",
        410: "gone",
        422: "validation-error",
        429: "too-many-requests",
        502: "bad-gateway",
        503: "service-unavailable",
    }.get(status, "error")


def responses(*entries: tuple[int, str] | tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """Build a route's documented error responses: ``responses((401, "Invalid credentials"), ...)``."""
    out: dict[int | str, dict[str, Any]] = {}
    for entry in entries:
        status, description = entry[0], entry[1]
        detail = entry[2] if len(entry) > 2 else None
        out[status] = problem_doc(status, description, detail)
    return out
