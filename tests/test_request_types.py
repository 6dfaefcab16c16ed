"""Every number, boolean and date a client sends in a request body is read as the document states it.

Pydantic's lax mode takes more than the OpenAPI document says: an ``int`` field takes ``true`` and
``"7"``, a ``bool`` takes ``0`` and ``"yes"``, a ``float`` takes ``"1.5"``, a ``date`` or ``datetime``
takes ``0`` (1970). The document says integer, boolean, number, date: a client sending ``false`` for
``due_in_hours`` got a task due at once, ``"enabled": 0`` made a disabled fraud rule (the contract
run's coverage phase found both, decision 0084). The chassis has the exact types — ``JsonInt``,
``StrictBool``, ``StrictFloat``, ``Instant``, ``Day`` — and this test holds every backend's request
bodies to them: it walks each operation's body model (pydantic's core schema, in process) and names
every scalar that lax mode would coerce. A field parsed by a validator of its own before the type
(``JsonInt``, ``Instant``, ``Day``) counts as exact: that validator decides what it takes.

The document must also state the bounds the server enforces: pydantic writes ``Field(ge=1)`` on an
optional ``JsonInt`` (``JsonInt | None = Field(ge=1)``) as ``"ge": 1``, a word JSON Schema does not
know, so the document said no bound at all; such a field's bounds go inside the type
(``Annotated[int, Field(ge=1), JSON_INTEGER] | None``). Every backend's document is searched for those words.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from aintech_contracts.fleet import BACKENDS, ServiceSpec

# Core-schema types whose lax mode takes JSON values the document's type refuses.
LAX_SCALARS = {"int", "float", "bool", "date", "datetime"}
# A validator that runs before the type decides what reaches it (JsonInt, Instant, Day).
BEFORE = {"function-before", "function-plain", "function-wrap"}


def _routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI keeps it whole)
            yield from _routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _routes(route.routes)


def lax_scalars(schema: Any, where: str = "", definitions: dict[str, Any] | None = None) -> Iterator[str]:
    """The places in a pydantic core schema where lax mode reads a scalar (``where``: type)."""
    definitions = {} if definitions is None else definitions
    seen: set[str] = set()

    def walk(node: Any, where: str, guarded: bool) -> Iterator[str]:
        if isinstance(node, list):
            for item in node:
                yield from walk(item, where, guarded)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "definitions":
            definitions.update({d["ref"]: d for d in node.get("definitions", [])})
            yield from walk(node["schema"], where, guarded)
            return
        if kind == "definition-ref":
            ref = node["schema_ref"]
            if ref not in seen and ref in definitions:
                seen.add(ref)
                yield from walk(definitions[ref], where, guarded)
            return
        if kind in LAX_SCALARS and not node.get("strict") and not guarded:
            yield f"{where or '(body)'}: {kind}"
        if kind in BEFORE:
            yield from walk(node.get("schema"), where, True)
            return
        for key, value in node.items():
            if key in ("metadata", "serialization", "function", "ref", "type"):
                continue
            if key == "fields" and isinstance(value, dict):
                for name, field in value.items():
                    yield from walk(field, f"{where}.{name}".lstrip("."), guarded)
            elif key == "choices" and isinstance(value, dict):  # a tagged union
                for field in value.values():
                    yield from walk(field, where, guarded)
            elif key in ("schema", "items_schema", "values_schema", "choices", "keys_schema"):
                yield from walk(value, where, guarded)

    yield from walk(schema, where, False)


# Pydantic's constraint names: in a JSON schema they state nothing (JSON Schema says minimum, ...).
UNSTATED_BOUNDS = {"ge", "le", "gt", "lt", "max_digits", "decimal_places"}


def unstated_bounds(node: Any, where: str = "#") -> Iterator[str]:
    """Places in a JSON Schema document where a schema carries a pydantic bound JSON Schema ignores."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str):
            for key in sorted(UNSTATED_BOUNDS & node.keys()):
                if isinstance(node[key], int | float):
                    yield f"{where}: {key}"
        for key, value in node.items():
            yield from unstated_bounds(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from unstated_bounds(value, f"{where}/{index}")


def laxer_than_documented(spec: ServiceSpec) -> list[str]:
    app = importlib.import_module(f"{spec.name}.app").create_app()
    found: set[str] = set(unstated_bounds(app.openapi()))
    for route in _routes(app.routes):
        annotation = route.body_field.field_info.annotation if route.body_field is not None else None
        if annotation is None:
            continue
        schema = TypeAdapter(annotation).core_schema
        for place in lax_scalars(schema):
            found.add(f"{sorted(route.methods or ())[0]} {route.path} {place}")
    return sorted(found)


def test_the_walk_finds_lax_scalars_and_passes_the_chassis_types() -> None:
    """The walker itself: it must be able to fail."""
    from pydantic import BaseModel, Field, StrictBool, StrictFloat

    from aintech_shared.instants import Day, Instant
    from aintech_shared.jsontypes import JSON_INTEGER, JsonInt

    class Inner(BaseModel):
        count: int
        exact: JsonInt

    class Body(BaseModel):
        on: bool
        strict_on: StrictBool
        ratio: float
        strict_ratio: StrictFloat
        when: Instant
        day: Day
        inner: list[Inner]

    found = sorted(lax_scalars(TypeAdapter(Body).core_schema))
    assert found == ["inner.count: int", "on: bool", "ratio: float"]

    class Bounds(BaseModel):
        unstated: JsonInt | None = Field(default=None, ge=1)
        stated: Annotated[int, Field(ge=1), JSON_INTEGER] | None = None

    assert list(unstated_bounds(Bounds.model_json_schema())) == ["#/properties/unstated/anyOf/0: ge"]


@pytest.mark.parametrize("spec", BACKENDS, ids=[s.slug for s in BACKENDS])
def test_every_request_body_reads_its_numbers_booleans_and_dates_exactly_and_states_its_bounds(
    spec: ServiceSpec,
) -> None:
    assert laxer_than_documented(spec) == []
