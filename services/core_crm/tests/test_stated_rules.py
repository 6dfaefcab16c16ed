"""The rules the contract run found unstated are now in the schema, and the schema and the server
agree on every edge: a value the document calls valid is accepted, one it calls invalid refused."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from core_crm.core.types import Instant, SaneDate

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
