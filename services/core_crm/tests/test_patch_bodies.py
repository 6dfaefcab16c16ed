"""A PATCH body's document says what the service does with null: a field that cannot be cleared
offers only its value's type (leave it out to keep it), so a client and schemathesis read the same
rule the service applies ("cannot be null", a 422)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from .conftest import Api

# PATCH path -> the fields its service refuses to set to null.
NOT_CLEARABLE = {
    "/tasks/{task_id}": ("title", "priority", "status", "tags", "metadata"),
    "/claims/{claim_id}": ("claim_type", "description", "metadata"),
    "/policies/{policy_id}": ("carrier", "premium_frequency", "details", "metadata"),
    "/quotes/{quote_id}": (
        "coverage_details",
        "base_premium",
        "discounts",
        "surcharges",
        "carrier_quotes",
        "metadata",
    ),
    "/customers/{customer_id}": (
        "customer_type",
        "first_name",
        "last_name",
        "country",
        "status",
        "preferred_language",
        "tags",
        "metadata",
    ),
}


def _body_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    ref = document["paths"][path]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _allows_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null" or "null" in (schema.get("type") or []):
        return True
    return any(_allows_null(branch) for branch in schema.get("anyOf", []) + schema.get("oneOf", []))


@pytest.mark.parametrize("path", sorted(NOT_CLEARABLE))
def test_a_field_that_cannot_be_cleared_is_not_nullable_in_the_document(app: FastAPI, path: str) -> None:
    document = app.openapi()
    assert path in document["paths"], sorted(document["paths"])
    properties = _body_schema(document, path)["properties"]
    for name in NOT_CLEARABLE[path]:
        assert not _allows_null(properties[name]), f"PATCH {path}: {name} = {properties[name]}"
    # Clearable fields stay nullable: null is how a client removes a due date or a description.
    if path == "/tasks/{task_id}":
        assert _allows_null(properties["due_date"]) and _allows_null(properties["description"])


async def test_a_task_priority_of_null_is_refused_as_the_document_says(api: Api) -> None:
    task = (await api.call("POST", "/tasks", json={"title": "Llamar", "priority": "high"}, expect=201)).json()
    refused = await api.call("PATCH", f"/tasks/{task['id']}", json={"priority": None}, expect=422)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "priority" in refused.text
    kept = (await api.call("GET", f"/tasks/{task['id']}", expect=200)).json()
    assert kept["priority"] == "high"
    cleared = await api.call("PATCH", f"/tasks/{task['id']}", json={"due_date": None}, expect=200)
    assert cleared.json()["due_date"] is None


@pytest.mark.parametrize("path", sorted(NOT_CLEARABLE))
async def test_null_is_refused_before_any_precondition(api: Api, path: str) -> None:
    # A stale or made-up If-Match on an unknown record: the body is judged first (422, not 412/404).
    record = path.replace(path[path.index("{") :], str(uuid.uuid4()))
    field = NOT_CLEARABLE[path][-1]
    refused = await api.call(
        "PATCH", record, json={field: None}, headers={**api.supervisor, "If-Match": '"0"'}, expect=422
    )
    assert [e["field"] for e in refused.json()["errors"]] == [field]


async def test_a_workflow_is_switched_on_and_off_with_a_boolean(api: Api) -> None:
    unknown = f"/workflows/{uuid.uuid4()}"
    for not_a_boolean in (0, 1, "yes", "true"):
        await api.call("PATCH", unknown, json={"active": not_a_boolean}, headers=api.supervisor, expect=422)
    await api.call("PATCH", unknown, json={"active": False}, headers=api.supervisor, expect=404)


async def test_a_transition_judges_its_body_before_its_precondition(api: Api) -> None:
    # RFC 9110 §13.2.1: the precondition counts only for a request that is otherwise acceptable.
    assign = f"/claims/{uuid.uuid4()}/assign"
    bad_version = {**api.supervisor, "If-Match": "0" * 100}
    await api.call("POST", assign, json={}, headers=bad_version, expect=422)
    await api.call("POST", assign, json={}, headers=api.supervisor, bare=True, expect=422)
    valid = {"adjuster_id": str(uuid.uuid4())}
    await api.call("POST", assign, json=valid, headers=bad_version, expect=412)
    await api.call("POST", assign, json=valid, headers=api.supervisor, bare=True, expect=428)
