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
* the endpoint must return a ``Response`` (built by the endpoint, e.g. ``json_response``).

Anything else in the graph — a dependency's query parameters, header, cookie or body parameters,
a sync callable, a ``Response``/``BackgroundTasks``/``SecurityScopes`` parameter, a concurrency
limit — is refused when the route is declared (``TypeError``): such a route stays an ordinary
``APIRoute``. At request time the plan hands the request to FastAPI's own handler when a path
value did not arrive converted (a router that was not constrained) or when dependency overrides are set (tests
that override a dependency get FastAPI's behaviour).

Declared as ``@router.get(path, ..., route_class_override=HotRoute)`` is not available on the
decorators, hence :func:`hot_get`.

:class:`HotDispatch` (installed by the chassis' app factory) serves a GET for a hot route before
FastAPI's stack: a table of the hot routes, checked first, hands the request to the same user
middleware (request and correlation ids, identity, metrics, access line, JSON body guard, tracing
when on), wrapped in Starlette's ``ServerErrorMiddleware`` with the app's 500 handler, and the
same exception handlers Starlette's ``ExceptionMiddleware`` would use (problem+json answers, the
same headers). What it skips: FastAPI's telemetry and body-limit layers (telemetry is off; a hot
route reads no body), the second middleware instances' routing, the included routers' matching and
``request_response``'s wrapper. A hot route that an earlier route would shadow (its path, with a
UUID for each parameter, matched first by another route) stays with FastAPI's router; so do all
requests while dependency overrides are set.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
)
from fastapi.dependencies.utils import _solve_generator, get_typed_return_annotation, request_params_to_args
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
        "a body": dependant.body_params,
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


def path_aliases(dependant: Dependant) -> tuple[str, ...]:
    """Every path parameter the graph reads (each must arrive as a ``uuid.UUID``)."""
    found = [field.alias for field in dependant.path_params]
    for sub in dependant.dependencies:
        found.extend(path_aliases(sub))
    return tuple(dict.fromkeys(found))


def compile_dependencies(dependant: Dependant, where: str = "endpoint", *, endpoint: bool = True) -> Resolver:
    """The values ``dependant.call`` takes, resolved as ``solve_dependencies`` would (query
    parameters on the ``endpoint`` level only)."""
    _refuse_unsupported(dependant, where, endpoint=endpoint)
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
    if context is not None and dependant.path:
        context["path"] = f"GET {dependant.path}"

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
            found, errors = request_params_to_args(queries, request.query_params)
            if errors:
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
        overrides = route.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if overrides is not None and getattr(overrides, "dependency_overrides", None):
                return await fallback(request)
            if aliases:
                params = request.path_params
                if not all(isinstance(params.get(alias), uuid.UUID) for alias in aliases):
                    return await fallback(request)
            values = await resolve(request, {})
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


# --- the hot route table, checked before FastAPI's stack ----------------------------------------

_SAMPLE_UUID = uuid.UUID("00000000-0000-4000-8000-000000000000")
_ENTRY = "aintech.hot_route"


@dataclass(frozen=True)
class _HotEntry:
    route: HotRoute
    context: _EffectiveRouteContext | None  # how an included router declared it (None: on the app)
    handler: Handler

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
        if "GET" not in (entry.route.methods or ()):
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
        probe = {"type": "http", "method": "GET", "path": sample, "root_path": "", "path_params": {}}
        if _first_match(candidates, probe) is not candidate:
            log.warning("hot_route_shadowed", path=entry.path_format)
            continue
        table.append(entry)
    return table


class _HotEndpoint:
    """The innermost app of the hot chain: the exception handlers, the exit stacks, the handler."""

    def __init__(self, app: FastAPI, handlers: dict[Any, Any]) -> None:
        errors = ExceptionMiddleware(app.router, handlers=handlers, debug=app.debug)
        self._handlers = (errors._exception_handlers, errors._status_handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["starlette.exception_handlers"] = self._handlers
        await wrap_app_handling_exceptions(self._serve, Request(scope, receive, send))(scope, receive, send)

    @staticmethod
    async def _serve(scope: Scope, receive: Receive, send: Send) -> None:
        entry: _HotEntry = scope[_ENTRY]
        request = Request(scope, receive, send)
        async with AsyncExitStack() as request_stack:
            scope["fastapi_inner_astack"] = request_stack
            async with AsyncExitStack() as function_stack:
                scope["fastapi_function_astack"] = function_stack
                response = await entry.handler(request)
            await response(scope, receive, send)


class HotDispatch:
    """ASGI: a GET on a hot route goes through the hot chain; everything else through ``stack``
    (FastAPI's own middleware stack and router). See the module docstring."""

    def __init__(self, app: FastAPI, stack: ASGIApp) -> None:
        self.app = app
        self.stack = stack
        self.table = hot_table(app)
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
        if scope["type"] == "http" and scope["method"] == "GET" and not self.app.dependency_overrides:
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
