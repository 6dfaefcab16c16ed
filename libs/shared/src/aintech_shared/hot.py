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
* the endpoint must return a ``Response`` (built by the endpoint, e.g. ``json_response``).

Anything else in the graph — query, header, cookie or body parameters, a sync callable, a
``Response``/``BackgroundTasks``/``SecurityScopes`` parameter, a concurrency limit — is refused
when the route is declared (``TypeError``): such a route stays an ordinary ``APIRoute``. At
request time the plan hands the request to FastAPI's own handler when a path value did not
arrive converted (a router that was not constrained) or when dependency overrides are set (tests
that override a dependency get FastAPI's behaviour).

Declared as ``@router.get(path, ..., route_class_override=HotRoute)`` is not available on the
decorators, hence :func:`hot_get`.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _is_async_gen_callable,
    _is_coroutine_callable,
)
from fastapi.dependencies.utils import _solve_generator, get_typed_return_annotation
from fastapi.routing import APIRoute, _effective_route_context_var
from starlette.requests import Request
from starlette.responses import Response

Resolver = Callable[[Request, dict[Any, Any]], Awaitable[dict[str, Any]]]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class NotCompilable(TypeError):
    """The route's dependency graph uses something the plan does not resolve."""


def _refuse_unsupported(dependant: Dependant, where: str) -> None:
    unsupported = {
        "query parameters": dependant.query_params,
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


def compile_dependencies(dependant: Dependant, where: str = "endpoint") -> Resolver:
    """The values ``dependant.call`` takes, resolved as ``solve_dependencies`` would."""
    _refuse_unsupported(dependant, where)
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
                compile_dependencies(sub, name),
            )
        )
    paths = tuple((field.name, field.alias) for field in dependant.path_params)
    request_name = dependant.request_param_name

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
