"""RFC 9457 problem details: one domain-error base class and the handlers that render every error."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aintech_shared.events.faults import exception_chain, is_outage

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://docs.aintech.local/problems/"

log = structlog.get_logger("aintech.errors")


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


# What each status means for the caller, when the code that refused said nothing more (an empty
# detail, the bare status phrase, or only a link): every problem says what is wrong.
_MEANING = {
    400: "The request is malformed: check its syntax, parameters and headers.",
    401: "Authentication is required: send a valid access token (Authorization: Bearer ...).",
    403: "You are signed in but not allowed to do this.",
    404: "Nothing exists at this address.",
    405: "This method is not allowed at this address.",
    406: "No representation of this resource matches your Accept header.",
    409: "The request conflicts with the current state of the resource.",
    410: "This resource is gone for good.",
    411: "Send a Content-Length header with the body.",
    412: "A precondition failed: the resource changed since you read it.",
    413: "The request body is too large.",
    414: "The address is too long.",
    415: "The body's media type is not supported here: send application/json.",
    422: "The request is well formed but some values are invalid.",
    428: "This change must be conditional: send If-Match with the ETag you read, or an Idempotency-Key.",
    429: "Too many requests: wait for the time in Retry-After, then retry.",
    431: "The request headers are too large.",
    500: "An unexpected error occurred. It has been logged.",
    502: "A service behind the gateway gave an invalid answer.",
    503: "The service is unavailable right now: retry shortly.",
    504: "A service behind the gateway did not answer in time.",
}
_ONLY_A_LINK = re.compile(r"^\s*(see\s+)?<?[a-z][a-z0-9+.-]*://\S+>?\s*\.?\s*$", re.IGNORECASE)


def meaningful_detail(status: int, detail: str | None, *, title: str | None = None) -> str:
    """``detail`` when it says something; otherwise what the status means for the caller."""
    text_ = (detail or "").strip()
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
    vacant = {"", phrase.lower(), (title or "").strip().lower()}
    if text_.lower().rstrip(".") in vacant or _ONLY_A_LINK.match(text_):
        return _MEANING.get(status, f"The request failed ({status} {phrase}).".replace(" )", ")"))
    return text_


def problem(
    status: int,
    *,
    type_: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> ProblemResponse:
    """Build a problem+json response."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": type_ or PROBLEM_BASE + phrase.lower().replace(" ", "-"),
        "title": title or phrase,
        "status": status,
        "detail": meaningful_detail(status, detail, title=title),
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = list(errors)
    body.update(extra)
    return ProblemResponse(body, status_code=status, headers=headers)


class AppError(Exception):
    """Base of every domain error; subclasses set the status, slug and title.

    ``keep_changes=True`` marks a refusal whose own writes must stand (a failed-login counter, an
    audit row, a revoked token family): the request's session commits them, then the error is
    answered as usual. Without it every write of the request is rolled back.
    """

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers
        self.keep_changes = keep_changes
        self.extra = extra


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status, slug, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(AppError):
    status, slug, title = 409, "conflict", "Conflict"


class Gone(AppError):
    status, slug, title = 410, "gone", "Gone"


class UnprocessableEntity(AppError):
    status, slug, title = 422, "validation-error", "Validation failed"


class TooManyRequests(AppError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(AppError):
    status, slug, title = 503, "service-unavailable", "Service unavailable"


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "location": loc[0] if loc else "body",
                "field": ".".join(loc[1:]) if len(loc) > 1 else (loc[0] if loc else ""),
                "message": err.get("msg", "invalid value"),
                "type": err.get("type", "value_error"),
            }
        )
    return out


def app_error_response(request: Request, exc: AppError) -> ProblemResponse:
    """The problem+json rendering of a domain error."""
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


# SQLSTATE of an integrity violation -> (status, error type, message for the field).
_INTEGRITY: dict[str, tuple[int, str, str]] = {
    "23505": (409, "unique_violation", "already exists"),
    "23P01": (409, "exclusion_violation", "conflicts with an existing record"),
    "23503": (422, "foreign_key_violation", "refers to a record that does not exist"),
    "23502": (422, "not_null_violation", "is required"),
    "23514": (422, "check_violation", "is not an allowed value"),
}
_INTEGRITY_DETAIL = {
    409: "This conflicts with an existing record.",
    422: "The request breaks a rule of the stored data.",
}
_KEY_COLUMNS = re.compile(r"Key \(([^)]*)\)=")


def _diagnostics(exc: IntegrityError) -> dict[str, str | None]:
    """What the database said: SQLSTATE, constraint, table, column, detail (asyncpg or psycopg)."""
    orig = exc.orig
    source = getattr(orig, "diag", None) or getattr(orig, "__cause__", None) or orig
    return {
        name: getattr(source, name, None) or getattr(orig, name, None)
        for name in ("sqlstate", "constraint_name", "table_name", "column_name", "detail")
    }


def integrity_fields(diag: dict[str, str | None]) -> list[str]:
    """The fields a violated constraint is about, from its columns or its conventional name
    (``uq_<table>_<column>``, ``ck_<table>_<name>``, ``fk_<table>_<column>_<referred table>``)."""
    if diag["sqlstate"] == "23502" and diag["column_name"]:
        return [diag["column_name"]]
    found = _KEY_COLUMNS.search(diag["detail"] or "")
    if found:
        return [c.strip().strip('"') for c in found.group(1).split(",")]
    constraint, table = diag["constraint_name"] or "", diag["table_name"] or ""
    for prefix in ("uq", "ck", "pk"):
        if table and constraint.startswith(f"{prefix}_{table}_"):
            return [constraint[len(prefix) + len(table) + 2 :]]
    return []


def integrity_problem(request: Request, exc: IntegrityError) -> ProblemResponse:
    """A unique/exclusion violation is a 409; foreign-key, not-null and check violations are 422."""
    diag = _diagnostics(exc)
    status, kind, message = _INTEGRITY.get(diag["sqlstate"] or "", (409, "integrity_violation", "is invalid"))
    if diag["sqlstate"] == "23503" and "still referenced" in (diag["detail"] or ""):
        status, message = 409, "is still referenced by other records"
    log.info(
        "integrity_violation",
        path=request.url.path,
        sqlstate=diag["sqlstate"],
        constraint=diag["constraint_name"],
    )
    fields = integrity_fields(diag)
    return problem(
        status,
        type_=PROBLEM_BASE + ("conflict" if status == 409 else "validation-error"),
        title="Conflict" if status == 409 else "Validation failed",
        detail=_INTEGRITY_DETAIL[status],
        instance=request.url.path,
        errors=[{"location": "body", "field": f, "message": message, "type": kind} for f in fields] or None,
    )


def _slug_for(status: int) -> str:
    """The problem type slug of a status, as the AppError subclasses declare it."""
    pending: list[type[AppError]] = [AppError]
    while pending:
        cls = pending.pop()
        if cls.status == status and cls is not AppError:
            return cls.slug
        pending.extend(cls.__subclasses__())
    return "bad-gateway" if status == 502 else "error"


def problem_doc(status: int, description: str, example_detail: str | None = None) -> dict[str, Any]:
    """An OpenAPI ``responses`` entry for a problem+json error, with an example body."""
    example: dict[str, Any] = {
        "type": PROBLEM_BASE + _slug_for(status),
        "title": description,
        "status": status,
        "detail": example_detail or description,
    }
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"example": example}}}


def responses(*entries: tuple[int, str] | tuple[int, str, str]) -> dict[int | str, dict[str, Any]]:
    """A route's documented error responses: ``responses((401, "Invalid credentials"), ...)``."""
    out: dict[int | str, dict[str, Any]] = {}
    for entry in entries:
        status, description = entry[0], entry[1]
        detail = entry[2] if len(entry) > 2 else None
        out[status] = problem_doc(status, description, detail)
    return out


# --- an unreachable dependency is 503, not 500 ------------------------------------------------

# Retry-After (seconds) when a dependency cannot be reached at all; a connection lost under one
# query is retried at once (the pool hands out a fresh one).
UNAVAILABLE_RETRY_AFTER = 5
LOST_RETRY_AFTER = 1


def _raised_in(exc: BaseException) -> Iterator[str]:
    """The modules ``exc`` comes from and passed through (asyncpg's connect raises a bare OSError)."""
    yield type(exc).__module__
    tb = exc.__traceback__
    while tb is not None:
        yield str(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next


def unreachable_dependency(exc: BaseException) -> str | None:
    """``"database"``, ``"message broker"`` or ``"dependency"`` when ``exc`` (or what it wraps) is
    an outage by the chassis' one classification (``aintech_shared.events.faults.is_outage``, the
    same the consumers and the relay wait out); None for any other error."""
    if not is_outage(exc):
        return None
    modules = [module for link in exception_chain(exc) for module in _raised_in(link)]
    if any(module.startswith(("asyncpg", "sqlalchemy")) for module in modules):
        return "database"
    if any(module.startswith("aiokafka") for module in modules):
        return "message broker"
    return "dependency"


def unavailable_problem(request: Request, exc: BaseException) -> ProblemResponse | None:
    """503 problem+json with ``Retry-After`` when ``exc`` is an unreachable dependency, else None."""
    what = unreachable_dependency(exc)
    if what is None:
        return None
    lost = isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
    if lost:
        detail, retry = "The database connection was lost; retry the request.", LOST_RETRY_AFTER
    elif what == "dependency":
        detail, retry = "A service this request needs is unreachable; retry shortly.", UNAVAILABLE_RETRY_AFTER
    else:
        detail, retry = f"The {what} is unreachable; retry shortly.", UNAVAILABLE_RETRY_AFTER
    log.warning(
        "dependency_unavailable",
        dependency=what,
        path=request.url.path,
        error_type=type(exc).__name__,
        error=str(exc)[:200],
    )
    return problem(
        503,
        type_=PROBLEM_BASE + "service-unavailable",
        title="Service unavailable",
        detail=detail,
        instance=request.url.path,
        headers={"Retry-After": str(retry)},
    )


def _internal_error(request: Request, exc: BaseException) -> ProblemResponse:
    log.error(
        "unhandled_error",
        path=request.url.path,
        error_type=type(exc).__name__,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem(
        500,
        detail="An unexpected error occurred. It has been logged.",
        instance=request.url.path,
        headers={"Connection": "close"},
    )


# Postgres' verdicts on two transactions that collided: it rolled one back so the other could go
# on. Nothing of the request was applied; the same request sent again normally succeeds.
TRANSIENT_CONFLICT_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure


def transient_conflict(exc: BaseException) -> bool:
    """True when Postgres rolled the request's transaction back for a concurrent one."""
    return any(
        isinstance(code := getattr(link, "sqlstate", None), str) and code in TRANSIENT_CONFLICT_SQLSTATES
        for link in exception_chain(exc)
    )


def conflict_problem(request: Request, exc: BaseException) -> ProblemResponse | None:
    """503 problem+json with ``Retry-After: 1`` for a deadlock or serialization failure, else None."""
    if not transient_conflict(exc):
        return None
    log.warning("transaction_conflict", path=request.url.path, error=str(exc)[:200])
    return problem(
        503,
        type_=PROBLEM_BASE + "concurrent-change",
        title="Concurrent change",
        detail="The request collided with a concurrent change and nothing of it was applied; retry it.",
        instance=request.url.path,
        headers={"Retry-After": str(LOST_RETRY_AFTER)},
    )


def _error_answer(request: Request, exc: Exception) -> ProblemResponse:
    return (
        unavailable_problem(request, exc) or conflict_problem(request, exc) or _internal_error(request, exc)
    )


async def _dependency_error(request: Request, exc: Exception) -> ProblemResponse:
    """Errors that are often an outage (database, broker, network): 503 when they are, else 500.

    Only HTTP requests get an answer here; on a WebSocket the error goes on to the socket's own
    handling (Starlette would otherwise swallow it)."""
    if request.scope.get("type") != "http":
        raise exc
    return _error_answer(request, exc)


# Exception classes whose handler tells an outage from a bug. Handled here (not by the catch-all
# below) so the answer is sent without Starlette re-raising the error to the server.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem+json."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> ProblemResponse:
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ProblemResponse:
        errors = _field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem(
                400,
                type_=PROBLEM_BASE + "malformed-json",
                title="Malformed JSON",
                detail="The request body is not valid JSON.",
                instance=request.url.path,
                errors=errors,
            )
        return problem(
            422,
            type_=PROBLEM_BASE + "validation-error",
            title="Validation failed",
            detail=f"{len(errors)} field(s) failed validation.",
            instance=request.url.path,
            errors=errors,
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> ProblemResponse:
        return integrity_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No route matches {request.method} {request.url.path}."
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            from aintech_shared.routing import allowed_methods

            allow = allowed_methods(request.app.router.routes, request.scope)
            detail = (
                f"Method {request.method} is not allowed on {request.url.path}; "
                f"it takes {', '.join(allow) or 'no method'}."
            )
            headers = {**(headers or {}), "Allow": ", ".join(allow)}
        return problem(
            exc.status_code,
            type_=PROBLEM_BASE + "validation-error" if exc.status_code == 422 else None,
            title="Validation failed" if exc.status_code == 422 else None,
            detail=detail,
            instance=request.url.path,
            errors=getattr(exc, "errors", None),
            headers=headers,
        )

    for error in DEPENDENCY_ERRORS:
        app.add_exception_handler(error, _dependency_error)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> ProblemResponse:
        # Starlette re-raises after this answer and the server closes the connection: say so, or
        # the gateway would put the connection back in its pool (see docs/security-edge.md).
        response = _error_answer(request, exc)
        response.headers["Connection"] = "close"
        return response
