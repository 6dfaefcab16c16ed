"""Schemathesis hooks for every fuzzing run (in process, or the CLI through ``SCHEMATHESIS_HOOKS``).

Free-form JSON objects (``dict[str, Any]`` fields: custom fields, template variables, metadata)
also get keys a hostile client would send and schemathesis' UTF-8 generator never makes: a lone
UTF-16 surrogate (valid JSON as ``"\\ud800"``, not encodable as UTF-8, refused by Postgres and by
orjson) and a NUL character. Any such object in a generated body is, half the time, sent with them.
The platform refuses them (422): the point is that it never answers 500.
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import schemathesis
from hypothesis import strategies as st
from hypothesis.internal import lambda_sources

_describe_lambda = lambda_sources._lambda_description


def _lambda_description(f: Any, *args: Any, **kwargs: Any) -> str:
    """Hypothesis' description of a lambda (a repr only), or ``lambda: <unknown>`` when this
    interpreter's ``ast.parse`` raises "AST constructor recursion depth mismatch" (CPython
    gh-106905, in 3.11 releases: a parse racing a recursion-limit change made by another worker
    thread, which hypothesis does). Without it, the contract run stopped with a tool error on
    whichever operation's strategy was being described, not on anything the platform answered."""
    try:
        return str(_describe_lambda(f, *args, **kwargs))
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _lambda_description

HOSTILE_KEYS: dict[str, Any] = {"\ud800": "lone surrogate", "nul\x00key": 1, "\udfff\x00": {"\ud83d": None}}


def _resolve(root: dict[str, Any], schema: Any, depth: int = 0) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and depth < 32:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = (
                target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
            )
        schema, depth = target, depth + 1
    return schema


def _free_form(schema: dict[str, Any]) -> bool:
    return (
        schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties", True) not in (False, None)
        and "propertyNames" not in schema
    )


def with_hostile_keys(root: dict[str, Any], schema: Any, value: Any, depth: int = 0) -> Any:
    """``value`` (valid for ``schema``) with hostile keys added to each free-form object in it."""
    schema = _resolve(root, schema)
    if not isinstance(schema, dict) or depth > 16:
        return value
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, ()):
            value = with_hostile_keys(root, option, value, depth + 1)
    if isinstance(value, dict):
        if _free_form(schema):
            return {**value, **HOSTILE_KEYS}
        properties = schema.get("properties") or {}
        return {
            k: with_hostile_keys(root, properties[k], v, depth + 1) if k in properties else v
            for k, v in value.items()
        }
    if isinstance(value, list) and "items" in schema:
        return [with_hostile_keys(root, schema["items"], item, depth + 1) for item in value]
    return value


def _json_body_schema(operation: Any) -> Any:
    raw = getattr(getattr(operation, "definition", None), "raw", None) or {}
    content = (raw.get("requestBody") or {}).get("content") or {}
    return (content.get("application/json") or {}).get("schema")


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    operation = context.operation
    schema = _json_body_schema(operation) if operation is not None else None
    if schema is None or not isinstance(body, dict | list):
        return st.just(body)
    hostile = with_hostile_keys(operation.schema.raw_schema, schema, body)  # type: ignore[union-attr]
    return st.just(body) if hostile == body else st.sampled_from([body, hostile])


def _has_hostile_text(value: Any) -> bool:
    """NUL or a lone surrogate anywhere (keys, values, query): text the platform refuses (422)."""
    if isinstance(value, str):
        return "\x00" in value or any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_hostile_text(k) or _has_hostile_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_hostile_text(item) for item in value)
    return False


def _has_hostile_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k in HOSTILE_KEYS or _has_hostile_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_hostile_key(item) for item in value)
    return False


@schemathesis.hook
def filter_failure(context: schemathesis.HookContext, failure: Any, case: Any, response: Any) -> bool:
    """Text with NUL or a lone surrogate (our hostile keys, or schemathesis' own strings) is
    refused by a rule of the whole platform, documented in the gateway's API description: a 422
    for it is right. Every other check still holds for it (no 5xx, problem+json, a documented
    status)."""
    refused_hostile = (
        type(failure).__name__ == "RejectedPositiveData"
        and response.status_code == 422
        and any(_has_hostile_text(part) for part in (case.body, case.query, case.path_parameters))
    )
    return not refused_hostile


# --- what a CLI run sent: one JSON line per case, for the digest that shows two runs sent the same

CASES_ENV = "AINTECH_FUZZ_CASES"  # the file `record_case` appends to
# In the stateful phase a step's values come partly from earlier answers (an id the server made, an
# instant, the text of whichever record a list answered first): two runs take the same steps with
# different values there. A stateful case is written as its shape (the keys, each value's type).


def shape(value: Any) -> Any:
    """``value`` with every leaf replaced by its JSON type's name (keys kept)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shape(item) for item in value]
    return f"<{type(value).__name__}>"


def _plain(value: Any) -> Any:
    """A body as JSON can carry it: no body is null, bytes are hex, anything else its type name
    (a repr may hold an address, which differs between runs)."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return f"<{type(value).__name__}>"


def case_line(case: Any) -> str:
    """One case as a JSON line: its operation, phase and every generated part (not the token)."""
    phase = getattr(getattr(getattr(case, "meta", None), "phase", None), "name", None)
    phase_name = str(getattr(phase, "value", phase))
    headers = {k.lower(): v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    parts = {
        "path": _plain(case.path_parameters),
        "query": _plain(case.query),
        "headers": _plain(headers),
        "cookies": _plain(case.cookies),
        "media_type": case.media_type,
        "body": _plain(case.body),
    }
    if phase_name == "stateful":
        parts = shape(parts)
    return json.dumps(
        {"operation": f"{case.method.upper()} {case.path}", "phase": phase_name, **parts},
        sort_keys=True,
    )


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: Any, kwargs: Any) -> None:
    target = os.environ.get(CASES_ENV)
    if target:
        with open(target, "a") as sink:
            sink.write(case_line(case) + "\n")


# --- through the gateway: an administrator who signs in again when a generated call ended the session

LOGIN_ENV = "AINTECH_FUZZ_LOGIN"  # JSON: {"gateway": url, "email": ..., "password": ...}
# Public operations: no token, so no re-sign-in when they answer 401 (a wrong password is a 401).
PUBLIC = (
    r"^/api/auth/(login|refresh|register|verify-email|forgot-password|reset-password|oauth/|\.well-known/)"
)


class GatewayAdmin:
    """Signs in through the gateway; schemathesis asks again after any 401 (the generated calls
    include revoking sessions, the fuzzing one's among them, which the run then survives)."""

    def __init__(self) -> None:
        self.login = json.loads(os.environ[LOGIN_ENV])

    def get(self, case: Any, ctx: Any, /) -> str:
        signed_in = httpx.post(
            f"{self.login['gateway']}/api/auth/login",
            json={"email": self.login["email"], "password": self.login["password"]},
            timeout=30,
        )
        signed_in.raise_for_status()
        token: str = signed_in.json()["access_token"]
        return token

    def set(self, case: Any, data: str, ctx: Any, /) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


if os.environ.get(LOGIN_ENV):
    schemathesis.auth(refresh_interval=600).skip_for(path_regex=PUBLIC)(GatewayAdmin)
