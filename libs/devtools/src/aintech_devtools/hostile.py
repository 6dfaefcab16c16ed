"""Hostile JSON for API fuzzing: free-form objects whose keys hold a lone UTF-16 surrogate or a NUL.

Schemathesis draws keys from valid Unicode text, so it never sends these; the chassis refuses them
(``aintech_shared.jsonbody``) and each service's schemathesis test sends these cases explicitly.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Keys no storage can hold: lone high and low surrogates, NUL, and both mixed into ordinary text.
HOSTILE_KEYS = ("\ud800", "\udfff", "clave\udbffrota", "\x00", "k\x00ey", "\ud83d\x00")
_METHODS_WITH_BODY = ("post", "put", "patch")


@dataclass(frozen=True)
class HostileRequest:
    label: str
    method: str
    url: str
    body: bytes  # JSON, surrogates and NUL spelled as \\u escapes


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _is_free_form(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = _resolve(spec, schema)
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        if _is_free_form(spec, branch):
            return True
    return (
        schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties", True) not in (False, None)
    )


def _fill(path: str, parameters: list[dict[str, Any]]) -> str:
    for parameter in parameters:
        if parameter.get("in") == "path":
            kind = parameter.get("schema", {})
            value = str(uuid.uuid4()) if kind.get("format") == "uuid" else "1"
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def hostile_json_requests(spec: dict[str, Any]) -> Iterator[HostileRequest]:
    """For every operation taking a JSON body: each free-form object property (or, when it has
    none, the body itself) filled with hostile keys, one request per key."""
    for path, operations in spec.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in _METHODS_WITH_BODY or not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(spec, content["application/json"].get("schema", {}))
            free = [name for name, prop in schema.get("properties", {}).items() if _is_free_form(spec, prop)]
            url = _fill(path, operation.get("parameters", []))
            for key in HOSTILE_KEYS:
                if free:
                    document: dict[str, Any] = {name: {key: {"nested": key}} for name in free}
                else:
                    document = {key: 1}
                yield HostileRequest(
                    label=f"{method.upper()} {path} [{key!a}]",
                    method=method.upper(),
                    url=url,
                    body=json.dumps(document, ensure_ascii=True).encode(),
                )


def refused_properly(status: int, content_type: str) -> bool:
    """What every hostile request must get: 422 problem+json (never a 5xx, never accepted)."""
    return status == 422 and content_type.startswith("application/problem+json")
