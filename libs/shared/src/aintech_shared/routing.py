"""Routing that keeps the OpenAPI's promises about paths and methods.

* A path parameter the operation types as a UUID only matches a UUID: ``GET /messages/template``
  is not ``GET /messages/{message_id}`` with a malformed id (422) but a path that exists for other
  methods (405) — the router decides with the types the document declares.
* Such an operation documents 404 (a malformed id finds no route), unless it already does.
* A 405 carries ``Allow`` with every method the path takes, across all the routes that serve it
  (Starlette names only the first route's methods).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match, Mount, compile_path
from starlette.types import Scope

from aintech_shared.errors import problem_doc

# Path parameter type -> Starlette convertor that matches exactly that type's text.
_CONVERTORS: dict[object, str] = {uuid.UUID: "uuid"}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def constrain_path_parameters(router: APIRouter) -> None:
    """Match each UUID-typed path parameter only against UUID text (the document's own ``format``).

    Call it on a router before it is included: the including app compiles each route's path (the
    document shows ``{message_id}``, the router matches ``{message_id:uuid}``).
    """
    for route in router.routes:
        nested = getattr(route, "original_router", None)  # a router included in this one
        if isinstance(nested, APIRouter):
            constrain_path_parameters(nested)
        if not isinstance(route, APIRoute):
            continue
        kinds = {
            field.alias: _CONVERTORS[field.field_info.annotation]
            for field in route.dependant.path_params
            if field.field_info.annotation in _CONVERTORS
        }
        if not kinds:
            continue
        route.path = _typed(route.path, kinds)
        # Text that is not a UUID now finds no route: 404, which the operation must declare.
        route.responses.setdefault(404, problem_doc(404, "Not found (or the id is not a UUID)"))
        route.path_regex, route.path_format, route.param_convertors = compile_path(route.path)


def _typed(path: str, kinds: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: f"{{{m[1]}:{kinds[m[1]]}}}" if m[1] in kinds else m[0], path)


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at the scope's path, asked of the router itself: a method is
    allowed when a route matches the path fully with it (so included routers count too)."""
    allowed = []
    for method in METHODS:
        probe = {**scope, "type": "http", "method": method}
        if any(r.matches(probe)[0] is Match.FULL for r in routes if not isinstance(r, Mount)):
            allowed.append(method)
    return allowed
