"""JsonInt takes JSON Schema's integers: 7 and 7.0, never true, "7" or 7.5."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from pydantic import BaseModel, Field, ValidationError

from aintech_shared.jsontypes import JsonInt


class Body(BaseModel):
    n: JsonInt = Field(ge=0, le=100)
    maybe: JsonInt | None = None


@pytest.mark.parametrize("value", [0, 7, 7.0, 100, 100.0, True, False, "7", 7.5, None, -1, 101.0, [7]])
def test_json_int_agrees_with_the_schema_it_states(value: Any) -> None:
    schema = Body.model_json_schema()
    stated = jsonschema_rs.validator_for(schema).is_valid({"n": value})
    try:
        parsed = Body.model_validate({"n": value})
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == stated, f"{value!r}: server accepts {accepted}, schema {stated}"
    if accepted:
        assert type(parsed.n) is int and parsed.n == value


def test_an_optional_json_int_takes_null() -> None:
    assert Body.model_validate({"n": 1, "maybe": None}).maybe is None
    assert Body.model_validate({"n": 1, "maybe": 3.0}).maybe == 3
    with pytest.raises(ValidationError):
        Body.model_validate({"n": 1, "maybe": False})
