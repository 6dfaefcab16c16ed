"""A message subject's one-line rule is in the schema, and the schema and the server agree on every
edge (the rule is judged on the text as sent; surrounding spaces are trimmed only afterwards)."""

from __future__ import annotations

import jsonschema_rs
from pydantic import ValidationError

from omnichannel.messaging.schemas import ReplyIn

SUBJECTS = [
    "Documentación de su póliza",
    "  Renovación  ",
    " ",
    "\t",
    "\n",
    "línea\nsegunda",
    "retorno\r",
    "nul\x00",
    "x" * 500,
    " " + "x" * 500,
    "\u00a0",
]


def test_the_schema_states_the_subject_rule_the_server_enforces() -> None:
    schema = ReplyIn.model_json_schema()["properties"]["subject"]["anyOf"][0]
    assert "pattern" in schema
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    for subject in SUBJECTS:
        try:
            ReplyIn.model_validate({"body": "Hola", "subject": subject})
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == validator.is_valid(subject), f"{subject!r}: server {accepted}"


def test_a_subject_is_trimmed_once_accepted() -> None:
    assert ReplyIn.model_validate({"body": "Hola", "subject": "  Renovación \t"}).subject == "Renovación"
