"""The rules the contract run found unstated are now in the schema, and the schema and the server
agree on every edge: a value the document calls valid is accepted, one it calls invalid refused.
(The year range of instants and days; the number range of free-form JSON.)"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from core_crm.core.types import MAX_JSON_DEPTH, Instant, JsonObject, SaneDate

INSTANTS = [
    "2026-05-01T10:00:00Z",
    "1900-01-01T00:00:00+14:00",  # 1899 in UTC: the year as written decides
    "2200-12-31T23:00:00-05:00",  # 2201 in UTC
    "1899-12-31T23:59:59Z",
    "2201-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-05-01T10:00:00",  # no time zone
]
DAYS = ["2026-05-01", "1900-01-01", "2200-12-31", "1899-12-31", "2201-01-01", "0001-01-01", "9999-12-31"]


def _agree(field_type: Any, values: list[str]) -> None:
    class Body(BaseModel):
        value: field_type

    schema = Body.model_json_schema()["properties"]["value"]
    assert "pattern" in schema, "the year range is stated in the document"
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    adapter = TypeAdapter(Body)
    for value in values:
        try:
            adapter.validate_python({"value": value})
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == validator.is_valid(value), f"{value!r}: server {accepted}, schema {not accepted}"


@pytest.mark.parametrize(("field_type", "values"), [(Instant, INSTANTS), (SaneDate, DAYS)])
def test_the_schema_states_the_year_range_the_server_enforces(field_type: Any, values: list[str]) -> None:
    _agree(field_type, values)


def test_a_task_due_date_outside_the_range_is_refused_with_the_reason(app: Any) -> None:
    document = app.openapi()
    schema = document["components"]["schemas"]["TaskUpdate"]["properties"]["due_date"]
    assert any("pattern" in option for option in schema.get("anyOf", [schema]))


# --- free-form JSON (metadata, details, a workflow's data): the schema states what the server takes

NUMBERS: list[Any] = [
    0,
    1.5,
    2**53 - 1,  # the largest integer every JSON reader holds exactly
    -(2**53 - 1),
    2**53,
    -(2**53),
    9007199254740990.0,
    9007199254740992.0,  # a number, not an integer, but beyond the same range
    2**63 - 1,  # a 64-bit integer: a double-based reader (a browser) would not read it back
    2**70,  # beyond 64 bits: orjson and the relay cannot carry it
    -1e300,
    True,
    None,
    "text",
]


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_the_schema_states_the_number_range_of_free_form_json_the_server_enforces(app: Any) -> None:
    document = app.openapi()
    metadata = document["components"]["schemas"]["CustomerCreate"]["properties"]["metadata"]
    value_ref = metadata["additionalProperties"]["$ref"]
    assert value_ref.startswith("#/components/schemas/JsonValue"), metadata
    # The document's own JSON Schema for the metadata object, with its components to resolve the reference.
    schema = {**metadata, "components": document["components"]}
    validator = jsonschema_rs.validator_for(schema)
    adapter = TypeAdapter(JsonObject)
    for number in NUMBERS:
        for value in ({"n": number}, {"n": [number]}, {"a": {"b": number}}):
            try:
                adapter.validate_python(value)
                accepted = True
            except ValidationError:
                accepted = False
            assert accepted == validator.is_valid(value), (
                f"{value!r}: server {accepted}, schema {not accepted}"
            )


def test_free_form_json_nested_beyond_the_stated_depth_is_refused_not_a_server_error() -> None:
    adapter = TypeAdapter(JsonObject)
    adapter.validate_python({"n": _nested(MAX_JSON_DEPTH - 1)})  # the object itself is the first level
    with pytest.raises(ValidationError, match="levels deep"):
        adapter.validate_python({"n": _nested(MAX_JSON_DEPTH)})
    # Deeper than orjson's own limit (254): a TypeError from the size check was a 500.
    with pytest.raises(ValidationError, match="levels deep"):
        adapter.validate_python({"n": _nested(300)})


async def test_deeply_nested_metadata_is_a_422_problem(api: Any) -> None:
    customer = await api.customer()
    answer = await api.call(
        "PATCH",
        f"/customers/{customer['id']}",
        json={"metadata": {"n": _nested(300)}},
        headers={**api.agent, "If-Match": '"1"'},
        expect=422,
    )
    assert answer.headers["content-type"] == "application/problem+json"
    assert "levels deep" in answer.text


def test_every_reference_in_the_document_resolves(app: Any) -> None:
    """The lead webhook's body schema is written by hand (the body is read raw): its free-form
    metadata refers to the document's `JsonValue` component, not to a `$defs` of its own."""
    document = app.openapi()

    def references(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [ref for value in node.values() for ref in references(value)]
        if isinstance(node, list):
            return [ref for item in node for ref in references(item)]
        return []

    schemas = document["components"]["schemas"]
    refs = set(references(document))
    assert "#/components/schemas/JsonValue" in refs or any("JsonValue" in ref for ref in refs)
    dangling = sorted(
        ref
        for ref in refs
        if not ref.startswith("#/components/schemas/") or ref.split("/")[-1] not in schemas
    )
    assert not dangling, dangling
    lead_body = document["paths"]["/webhooks/leads/{source}"]["post"]["requestBody"]["content"]
    metadata = lead_body["application/json"]["schema"]["properties"]["metadata"]
    assert metadata["additionalProperties"]["$ref"].split("/")[-1] in schemas
