"""Hot reads: a FastAPI route whose dependency graph is resolved by a plan compiled once.

For every request FastAPI's ``solve_dependencies`` walks the route's dependency tree again:
classifies each callable, computes cache keys, builds a dict per level, runs the path, query,
header and cookie validation of every level (empty or not), and a sub-response object. On an
authenticated read that is ~18% of a service's CPU (py-spy, core-crm's customer by id; see
docs/decisions/0047). :class:`HotRoute` keeps the route exactly as FastAPI declares it (OpenAPI,
response model in the document, the ``responses``, the router's path and method matching, the
exception handlers that turn errors into problem+json, the middleware: metrics and access line)
and replaces only the per-request solving with a plan made when the handler is built:

* each dependency, in FastAPI's order (its own dependencies first, then the request cache checked
  by FastAPI's own cache key when ``use_cache``), called with its values; generator dependencies
  entered with FastAPI's own helper on the exit stacks FastAPI uses (``scope="function"`` ones
  closed before the response is sent);
* ``Request`` parameters, and path parameters typed ``uuid.UUID`` — which the chassis router
  already matched as UUIDs (``aintech_shared.routing``), so they arrive converted;
* the endpoint's own query parameters, validated by FastAPI's own ``request_params_to_args``
  after the dependencies ran (as ``solve_dependencies`` orders it: a refused token answers 401
  before a bad query answers 422), their errors raised as FastAPI's ``RequestValidationError``;
  one the request does not carry and whose absence FastAPI answers with its default unchanged
  (optional, an immutable default it does not validate) takes that default without the call;
* the endpoint's own JSON body, when it has exactly one body parameter typed as a pydantic model
  (see "JSON bodies" below);
* the endpoint must return a ``Response`` (built by the endpoint, e.g. ``json_response``).

Anything else in the graph — a dependency's query parameters, header, cookie or body parameters,
an endpoint body that is a form, a file, embedded, several parameters or not a pydantic model,
a sync callable, a ``Response``/``BackgroundTasks``/``SecurityScopes`` parameter, a concurrency
limit — is refused when the route is declared (``TypeError``): such a route stays an ordinary
``APIRoute``. At request time the plan hands the request to FastAPI's own handler when a path
value did not arrive converted (a router that was not constrained) or when dependency overrides are set (tests
that override a dependency get FastAPI's behaviour).

Declared as ``@router.get(path, ..., route_class_override=HotRoute)`` is not available on the
decorators, hence :func:`hot_get` and :func:`hot_post`.

JSON bodies (``hot_post``). The body is read as FastAPI reads it — ``request.body()``, under the
same size limit FastAPI would apply (the route's ``max_body_size``, else its routers', else the
app's; Starlette's own ``RequestBodyLimitMiddleware``, so the same 413) — and, when the media type
is exactly ``application/json``, validated once with the model's ``model_validate_json`` on the
raw bytes (no ``json.loads``, no ``solve_dependencies``, no second validation of a dict). Anything
else goes to FastAPI's own handler, with the bytes already read: an empty body, another media type
(FastAPI's strict content type answers 422), and every body ``model_validate_json`` refuses — so
malformed JSON (400, decoded by FastAPI's ``json.loads``: the same error position) and every
validation error (422, after the dependencies, as FastAPI orders it) are FastAPI's own answers, byte
for byte. Declare hot only a model whose JSON-mode validation agrees with validating the decoded
object (pydantic's documented differences: ``strict`` fields, which accept JSON strings for UUIDs
and dates in JSON mode only; a number's precision in a ``Decimal``, ``1e2`` being ``Decimal("100")``
rather than ``Decimal("100.0")``).

:class:`HotDispatch` (installed by the chassis' app factory) serves a GET or a POST for a hot
route before FastAPI's stack: a table of the hot routes, checked first, hands the request to the
same user middleware (request and correlation ids, identity, metrics, access line, JSON body guard,
tracing when on), wrapped in Starlette's ``ServerErrorMiddleware`` with the app's 500 handler, and
the same exception handlers Starlette's ``ExceptionMiddleware`` would use (problem+json answers,
the same headers). What it skips: FastAPI's telemetry and body-limit layers (telemetry is off; a
hot route that reads a body applies the same limit itself), the second middleware instances'
routing, the included routers' matching and ``request_response``'s wrapper. A hot route that an
earlier route would shadow (its path, with a UUID for each parameter, matched first by another
route for its method) stays with FastAPI's router; so do all requests while dependency overrides
are set.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from enum import Enum
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, params
from fastapi._body_limit import get_body_size_limit, wrap_app_with_body_limit
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
)
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _solve_generator,
    get_typed_return_annotation,
    request_params_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_SCOPE_KEY,
    APIRoute,
    _effective_route_context_var,
    _EffectiveRouteContext,
    _extract_endpoint_context,
    _IncludedRouter,
)
from pydantic import BaseModel, ValidationError
from starlette._exception_handler import wrap_app_handling_exceptions
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, replace_params
from starlette.types import ASGIApp, Receive, Scope, Send

log = structlog.get_logger("aintech.hot")

Resolver = Callable[[Request, dict[Any, Any]], Awaitable[dict[str, Any]]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class NotCompilable(TypeError):
    """The route's dependency graph uses something the plan does not resolve."""


def _refuse_unsupported(dependant: Dependant, where: str, *, endpoint: bool) -> None:
    unsupported = {
        "query parameters": not endpoint and dependant.query_params,
        "header parameters": dependant.header_params,
        "cookie parameters": dependant.cookie_params,
        "a body": not endpoint and dependant.body_params,
        "a WebSocket parameter": dependant.websocket_param_name,
        "an HTTPConnection parameter": dependant.http_connection_param_name,
        "a Response parameter": dependant.response_param_name,
        "a BackgroundTasks parameter": dependant.background_tasks_param_name,
        "a SecurityScopes parameter": dependant.security_scopes_param_name,
        "OAuth scopes": dependant.own_oauth_scopes,
        "a concurrency limit": dependant.concurrency,
    }
    found = [name for name, value in unsupported.items() if value]
    if found:
        raise NotCompilable(f"{where} uses {', '.join(found)}")
    for field in dependant.path_params:
        if field.field_info.annotation is not uuid.UUID:
            raise NotCompilable(f"{where}: path parameter {field.name!r} is not a uuid.UUID")


def body_model(dependant: Dependant, where: str = "endpoint") -> tuple[str, type[BaseModel]] | None:
    """The endpoint's JSON body parameter (its name and model), or None when it reads no body.

    Exactly one parameter, typed as a pydantic model, neither embedded nor a form or a file: what
    FastAPI validates as the whole body. Anything else is refused (``NotCompilable``)."""
    fields = dependant.body_params
    if not fields:
        return None
    if len({field.name for field in fields}) != 1:
        raise NotCompilable(f"{where} reads more than one body parameter")
    info = fields[0].field_info
    model = info.annotation
    if (
        isinstance(info, params.Form | params.File)
        or getattr(info, "embed", False)
        or not (inspect.isclass(model) and issubclass(model, BaseModel))
    ):
        raise NotCompilable(f"{where}: the body must be one pydantic model, not embedded, not a form")
    return fields[0].name, model


def path_aliases(dependant: Dependant) -> tuple[str, ...]:
    """Every path parameter the graph reads (each must arrive as a ``uuid.UUID``)."""
    found = [field.alias for field in dependant.path_params]
    for sub in dependant.dependencies:
        found.extend(path_aliases(sub))
    return tuple(dict.fromkeys(found))


_IMMUTABLE = (type(None), bool, int, float, str, bytes, uuid.UUID, Enum)


def _absent_default(field: Any) -> tuple[tuple[str, ...], Any] | None:
    """``(request keys, default)`` of a query parameter whose absence FastAPI answers with its
    default unchanged (optional, default not validated, an immutable value, not a parameter
    model); ``None`` for any other, which FastAPI's ``request_params_to_args`` always handles.

    An absent parameter (none of its keys in the query) then costs a membership test: FastAPI's
    own path (aliases, sequence introspection of the annotation, ``deepcopy`` of the default)
    is ~10% of a search's CPU in core-crm with eleven of its thirteen parameters absent."""
    info = field.field_info
    if _get_param_model(field) is not None or info.is_required() or info.validate_default:
        return None
    if not isinstance(field.default, _IMMUTABLE):
        return None
    return tuple(key for _, key in _get_param_aliases(field)), field.default


def compile_dependencies(dependant: Dependant, where: str = "endpoint", *, endpoint: bool = True) -> Resolver:
    """The values ``dependant.call`` takes, resolved as ``solve_dependencies`` would (query
    parameters on the ``endpoint`` level only)."""
    _refuse_unsupported(dependant, where, endpoint=endpoint)
    if endpoint:
        body_model(dependant, where)
    subs = []
    for sub in dependant.dependencies:
        call = sub.call
        assert call is not None
        name = f"dependency {getattr(call, '__qualname__', call)!r}"
        if _is_async_gen_callable(call):
            kind = "generator"
        elif _is_coroutine_callable(call):
            kind = "coroutine"
        else:
            raise NotCompilable(f"{name} is neither async nor an async generator")
        subs.append(
            (
                sub,
                sub.name,
                call,
                kind,
                sub.use_cache,
                _get_cache_key(dependant=sub),
                compile_dependencies(sub, name, endpoint=False),
            )
        )
    paths = tuple((field.name, field.alias) for field in dependant.path_params)
    request_name = dependant.request_param_name
    queries = tuple(dependant.query_params)
    context = _extract_endpoint_context(dependant.call) if queries and dependant.call else None
    defaults = tuple(_absent_default(field) for field in queries)

    async def resolve(request: Request, cache: dict[Any, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for sub, name, call, kind, use_cache, key, resolve_sub in subs:
            sub_values = await resolve_sub(request, cache)  # first, even when cached: as FastAPI
            if use_cache and key in cache:
                solved = cache[key]
            else:
                if kind == "coroutine":
                    solved = await call(**sub_values)
                else:
                    stack = request.scope[
                        "fastapi_function_astack" if sub.scope == "function" else "fastapi_inner_astack"
                    ]
                    solved = await _solve_generator(
                        dependant=sub, stack=stack, sub_values=sub_values, request=request
                    )
                cache.setdefault(key, solved)
            if name is not None:
                values[name] = solved
        if paths:
            params = request.path_params
            for field_name, alias in paths:
                values[field_name] = params[alias]
        if request_name is not None:
            values[request_name] = request
        if queries:
            received = request.query_params
            asked: list[Any] = []  # the parameters FastAPI validates: present, or no plain default
            for field, default in zip(queries, defaults, strict=True):
                if default is not None and not any(key in received for key in default[0]):
                    values[field.name] = default[1]
                else:
                    asked.append(field)
            found, errors = request_params_to_args(asked, received)
            if errors:
                if context is not None and dependant.path:
                    context["path"] = f"{request.method} {dependant.path}"
                raise RequestValidationError(errors, body=None, endpoint_ctx=context)
            values.update(found)
        return values

    return resolve


def _returns_response(call: Callable[..., Any]) -> bool:
    try:
        returned = get_typed_return_annotation(call)
    except Exception:  # an annotation that does not resolve: not a declared Response
        return False
    return inspect.isclass(returned) and issubclass(returned, Response)


def _is_json(content_type: str | None) -> bool:
    """Exactly ``application/json`` (parameters aside), which FastAPI also reads as JSON; other
    JSON media types (``+json``) take FastAPI's own handler."""
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == "application/json"


async def read_model(request: Request, model: type[BaseModel]) -> BaseModel | None:
    """The body validated as ``model`` from its raw bytes, or None when FastAPI's own handler must
    answer it (empty, not ``application/json``, or refused by the model: FastAPI's errors)."""
    raw = await request.body()  # a body over the limit raises Starlette's 413 here, as in FastAPI
    if not raw or not _is_json(request.headers.get("content-type")):
        return None
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        return None


class HotRoute(APIRoute):
    """An ``APIRoute`` served by a compiled dependency plan (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not _is_coroutine_callable(endpoint) or not _returns_response(endpoint):
            raise NotCompilable(f"{endpoint.__qualname__} must be async and return a Response")
        super().__init__(path, endpoint, **kwargs)
        compile_dependencies(self.dependant, endpoint.__qualname__)  # refuse at declaration

    def get_route_handler(self) -> Handler:
        fallback = super().get_route_handler()
        context = _effective_route_context_var.get()  # set while an included router builds it
        route: Any = context if context is not None and context.original_route is self else self
        dependant: Dependant = route.dependant
        try:
            resolve = compile_dependencies(dependant, self.endpoint.__qualname__)
        except NotCompilable:  # what the including router added is not compilable
            return fallback
        endpoint = dependant.call
        assert endpoint is not None
        aliases = path_aliases(dependant)
        body = body_model(dependant)
        overrides = route.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if overrides is not None and getattr(overrides, "dependency_overrides", None):
                return await fallback(request)
            if aliases:
                params = request.path_params
                if not all(isinstance(params.get(alias), uuid.UUID) for alias in aliases):
                    return await fallback(request)
            if body is not None:
                model = await read_model(request, body[1])
                if model is None:  # FastAPI's handler answers it, from the bytes already read
                    return await fallback(request)
            values = await resolve(request, {})
            if body is not None:
                values[body[0]] = model
            response = await endpoint(**values)
            if not isinstance(response, Response):
                raise TypeError(f"{self.endpoint.__qualname__} returned {type(response).__name__}")
            return response

        return handler


def hot_get(
    router: APIRouter, path: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@router.get(path, **options)`` served by :class:`HotRoute`."""

    def decorate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["GET"], route_class_override=HotRoute, **options)
        return endpoint

    return decorate


def hot_post(
    router: APIRouter, path: str, **options: Any
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@router.post(path, **options)`` served by :class:`HotRoute`; the endpoint may take one
    JSON body parameter typed as a pydantic model (see "JSON bodies" in the module docstring).
    ``max_body_size`` (FastAPI's) bounds the body on both ways."""

    def decorate(endpoint: Callable[..., Any]) -> Callable[..., Any]:
        router.add_api_route(path, endpoint, methods=["POST"], route_class_override=HotRoute, **options)
        return endpoint

    return decorate


# --- the hot route table, checked before FastAPI's stack ----------------------------------------

_SAMPLE_UUID = uuid.UUID("00000000-0000-4000-8000-000000000000")
_HOT_METHODS = frozenset({"GET", "POST"})  # a POST only for a route with a JSON body parameter
_ENTRY = "aintech.hot_route"


@dataclass(frozen=True)
class _HotEntry:
    route: HotRoute
    context: _EffectiveRouteContext | None  # how an included router declared it (None: on the app)
    handler: Handler
    max_body_size: int | None = None  # FastAPI's limit for this route (route, routers, app)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if self.context is not None:
            return self.context.matches(scope)
        return self.route.matches(scope)

    @property
    def path_format(self) -> str:
        return str(self.context.path_format if self.context is not None else self.route.path_format)

    @property
    def convertors(self) -> dict[str, Any]:
        return dict(
            self.context.param_convertors if self.context is not None else self.route.param_convertors
        )


def _candidates(routes: Sequence[BaseRoute]) -> Iterator[BaseRoute | _EffectiveRouteContext]:
    """The app's routes in the order its router tries them, included routers flattened."""
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from _candidates(route.effective_candidates())  # type: ignore[arg-type]
        else:
            yield route


def _build_handler(route: HotRoute, context: _EffectiveRouteContext | None) -> Handler:
    if context is None:
        return route.get_route_handler()
    token = _effective_route_context_var.set(context)  # as FastAPI builds an included route
    try:
        return route.get_route_handler()
    finally:
        _effective_route_context_var.reset(token)


def _first_match(candidates: Sequence[BaseRoute | _EffectiveRouteContext], scope: Scope) -> Any:
    for candidate in candidates:
        match, _ = candidate.matches(dict(scope))
        if match is Match.FULL:
            return candidate
    return None


def hot_table(app: FastAPI) -> list[_HotEntry]:
    """Every hot route of ``app`` that its router would pick for its own paths."""
    candidates = list(_candidates(app.router.routes))
    table: list[_HotEntry] = []
    for candidate in candidates:
        if isinstance(candidate, _EffectiveRouteContext) and isinstance(candidate.original_route, HotRoute):
            entry = _HotEntry(
                candidate.original_route, candidate, _build_handler(candidate.original_route, candidate)
            )
        elif isinstance(candidate, HotRoute):
            entry = _HotEntry(candidate, None, _build_handler(candidate, None))
        else:
            continue
        methods = sorted(set(entry.route.methods or ()) & _HOT_METHODS)
        if not methods:
            continue
        dependant = entry.context.dependant if entry.context is not None else entry.route.dependant
        if dependant is None:
            continue
        try:  # what an including router added may not compile: FastAPI's own handler then
            compile_dependencies(dependant)
        except NotCompilable:
            continue
        values: dict[str, Any] = dict.fromkeys(entry.convertors, _SAMPLE_UUID)
        sample, _ = replace_params(entry.path_format, entry.convertors, values)
        probe = {"type": "http", "method": methods[0], "path": sample, "root_path": "", "path_params": {}}
        if _first_match(candidates, probe) is not candidate:
            log.warning("hot_route_shadowed", path=entry.path_format)
            continue
        limit = entry.context.max_body_size if entry.context is not None else entry.route.max_body_size
        limit = get_body_size_limit(limit, app.max_body_size)
        table.append(_HotEntry(entry.route, entry.context, entry.handler, limit))
    return table


class _HotEndpoint:
    """The innermost app of the hot chain: the route's body limit (FastAPI's), the exception
    handlers, the exit stacks, the handler."""

    def __init__(self, app: FastAPI, handlers: dict[Any, Any]) -> None:
        errors = ExceptionMiddleware(app.router, handlers=handlers, debug=app.debug)
        self._handlers = (errors._exception_handlers, errors._status_handlers)
        self._limited: dict[int, ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = scope[_ENTRY].max_body_size
        if limit is None:
            await self._handled(scope, receive, send)
            return
        limited = self._limited.get(limit)
        if limited is None:  # wrapped as FastAPI wraps a route: Starlette's limiter, FastAPI's unwrapping
            limited = self._limited[limit] = wrap_app_with_body_limit(self._handled, limit)
        await limited(scope, receive, send)

    async def _handled(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["starlette.exception_handlers"] = self._handlers
        await wrap_app_handling_exceptions(self._serve, Request(scope, receive, send))(scope, receive, send)

    @staticmethod
    async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
        entry: _HotEntry = scope[_ENTRY]
        request = Request(scope, receive, send)
        async with AsyncExitStack() as request_stack:
            scope["fastapi_inner_astack"] = request_stack
            scope.setdefault("fastapi_middleware_astack", request_stack)  # FastAPI's handler wants it
            async with AsyncExitStack() as function_stack:
                scope["fastapi_function_astack"] = function_stack
                response = await entry.handler(request)
            await response(scope, receive, send)


class HotDispatch:
    """ASGI: a GET (or a POST) on a hot route goes through the hot chain; everything else through ``stack``
    (FastAPI's own middleware stack and router). See the module docstring."""

    def __init__(self, app: FastAPI, stack: ASGIApp) -> None:
        self.app = app
        self.stack = stack
        self.table = hot_table(app)
        self.methods = frozenset(m for e in self.table for m in (e.route.methods or ()) if m in _HOT_METHODS)
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in app.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value
        chain: ASGIApp = _HotEndpoint(app, handlers)
        for cls, args, kwargs in reversed(app.user_middleware):
            chain = cls(chain, *args, **kwargs)
        self.chain = ServerErrorMiddleware(chain, handler=error_handler, debug=app.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods and not self.app.dependency_overrides:
            for entry in self.table:
                match, child_scope = entry.matches(scope)
                if match is Match.FULL:
                    scope.update(child_scope)
                    scope["route"] = entry.route
                    if entry.context is not None:
                        scope.setdefault(_FASTAPI_SCOPE_KEY, {})[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = (
                            entry.context
                        )
                    scope[_ENTRY] = entry
                    await self.chain(scope, receive, send)
                    return
        await self.stack(scope, receive, send)
