"""Schemathesis over the OpenAPI, one way for the platform (through the gateway) and every service.

What the checks hold an operation to: no 5xx; every status, content type and body as documented;
schema-invalid requests refused; 405 with ``Allow`` for undeclared methods; and schema-valid
requests accepted — unless the operation documents the rule that refuses them. A rule the schema
cannot say (a DNI's check letter, a postal code against its province, a password policy) is
declared in the operation's ``responses`` with its own description (``responses((422, "Invalid
DNI check letter…"))``); the chassis' generic entries (see ``aintech_shared.app.PROBLEM_RESPONSES``)
document nothing, so a refusal under them fails ``positive_data_acceptance``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aintech_devtools.fuzz_hooks import CASES_ENV, LOGIN_ENV
from aintech_devtools.hostile import (
    hostile_json_requests,
    refused_properly,
)  # importing it registers the hostile-key hooks
from aintech_shared.app import PROBLEM_RESPONSES

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Statuses schemathesis already accepts for schema-valid data (`positive_data_acceptance`).
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
GENERIC = {str(status): entry["description"] for status, entry in PROBLEM_RESPONSES.items()}
HOOKS_MODULE = "aintech_devtools.fuzz_hooks"


def documented_rules(document: Mapping[str, Any]) -> dict[str, list[str]]:
    """Operation label (``POST /api/crm/customers``) -> the 4xx statuses it documents as rules of
    its own (a refusal of schema-valid data under one of those is the documented behaviour)."""
    rules: dict[str, list[str]] = {}
    for path, operations in (document.get("paths") or {}).items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            statuses = [
                status
                for status, answer in (operation.get("responses") or {}).items()
                if status.startswith("4")
                and status not in ACCEPTED
                and answer.get("description") not in (None, GENERIC.get(status))
            ]
            if statuses:
                rules[f"{method.upper()} {path}"] = sorted(statuses)
    return rules


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string for the text we write


PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Seconds a call may take before the run calls it hung (the CLI's request timeout). `--checks all`
# also turns on `max_response_time`, a 10 s wall-clock limit: on a shared 2-core machine a sound
# answer took 24 s (an analytics forecast, decision 0084), so the limit is the request timeout too,
# and speed is measured where speed targets live (`make bench`), not judged by this run's clock.
REQUEST_TIMEOUT = 30


def cli_config(
    document: Mapping[str, Any], *, max_examples: int, seed: int | None, phases: Sequence[str] = PHASES
) -> str:
    """The schemathesis.toml of a run: every check, and each operation's documented rules.

    Repeatable: one worker (no race between operations for the platform's shared state),
    Hypothesis derandomized (each operation's cases follow from the operation itself) or, given a
    ``seed``, seeded with it (other cases, the same on every run with that seed), no example
    database (no case replayed from an earlier run), cases built from the schema alone (not from
    earlier answers) and a number of examples per operation instead of a time budget, so the same
    tree generates the same cases on every machine, however fast."""
    lines = [
        *([f"seed = {seed}"] if seed is not None else []),
        "workers = 1",
        "[generation]",
        f"max-examples = {max_examples}",
        f"deterministic = {_toml_bool(seed is None)}",
        'database = "none"',
        "[checks]",
        "# every check is on by default; a 5xx is always a failure",
        f"max_response_time = {REQUEST_TIMEOUT}",
        # Cases come from the schema and the seed alone, not from what earlier answers held (ids,
        # error messages): those differ between runs, and so would the cases built on them.
        "[phases.examples]",
        f"enabled = {_toml_bool('examples' in phases)}",
        "extra-data-sources.responses = false",
        "[phases.coverage]",
        f"enabled = {_toml_bool('coverage' in phases)}",
        "extra-data-sources.responses = false",
        "[phases.fuzzing]",
        f"enabled = {_toml_bool('fuzzing' in phases)}",
        "extra-data-sources.responses = false",
        "error-feedback.enabled = false",
        "[phases.stateful]",
        f"enabled = {_toml_bool('stateful' in phases)}",
    ]
    for label, statuses in sorted(documented_rules(document).items()):
        expected = ", ".join(_toml_string(s) for s in [*ACCEPTED, *statuses])
        lines += [
            "",
            "[[operations]]",
            f"include-name = {_toml_string(label)}",
            f"checks.positive_data_acceptance.expected-statuses = [{expected}]",
        ]
    return "\n".join(lines) + "\n"


def run_cli(
    *,
    schema_url: str,
    base_url: str,
    document: Mapping[str, Any],
    login: Mapping[str, str],
    workdir: Path,
    max_examples: int,
    seed: int | None,
    timeout: int,
    phases: Sequence[str] = PHASES,
    exclude_path_regex: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``schemathesis run`` with every check over ``schema_url`` against ``base_url``.

    The CLI is the outside client the platform's users have: it sends real HTTP, ``max_examples``
    generated cases per operation (see :func:`cli_config`: the same cases on every run), signed in
    as ``login`` (``gateway``, ``email``, ``password``: see ``fuzz_hooks.GatewayAdmin``). Reports
    land in ``workdir``: the CLI's output in ``output.txt`` (written as it runs) and every case
    sent in ``cases.jsonl`` (see :func:`case_digest`). ``timeout`` only stops a hung run.
    """
    config = workdir / "schemathesis.toml"
    config.write_text(cli_config(document, max_examples=max_examples, seed=seed, phases=phases))
    args: list[str] = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        schema_url,
        "--url",
        base_url,
        "--checks",
        "all",
        "--request-timeout",
        str(REQUEST_TIMEOUT),
        "--report",
        "junit",
        "--report-dir",
        str(workdir / "report"),
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    if exclude_path_regex:
        args += ["--exclude-path-regex", exclude_path_regex]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS_MODULE,
        LOGIN_ENV: json.dumps(dict(login)),
        CASES_ENV: str(workdir / "cases.jsonl"),
    }
    output = workdir / "output.txt"
    with output.open("w") as sink:
        process = subprocess.Popen(args, cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
    return subprocess.CompletedProcess(args, code, output.read_text(errors="replace"), "")


@dataclass(frozen=True)
class CaseDigest:
    """What a run generated: the number of cases per operation and one digest of them all."""

    per_operation: dict[str, int]
    sha256: str

    @property
    def total(self) -> int:
        return sum(self.per_operation.values())


def case_digest(cases_file: Path) -> CaseDigest:
    """The digest of the cases a CLI run sent (``cases.jsonl``, one line per case, in the order
    sent: see ``fuzz_hooks.record_case``). Two runs of the same tree have the same digest."""
    per_operation: dict[str, int] = {}
    digest = hashlib.sha256()
    lines = cases_file.read_text().splitlines() if cases_file.exists() else []
    for line in lines:
        operation = json.loads(line)["operation"]
        per_operation[operation] = per_operation.get(operation, 0) + 1
        digest.update(line.encode() + b"\n")
    return CaseDigest(dict(sorted(per_operation.items())), digest.hexdigest())


def failure_summary(output: str, *, limit: int = 12000) -> str:
    """The part of the CLI's output that says what failed (its FAILURES and SUMMARY sections)."""
    start = next((output.find(m) for m in ("FAILURES", "ERRORS", "SUMMARY") if m in output), 0)
    return output[start : start + limit]


def labels(document: Mapping[str, Any]) -> Sequence[str]:
    """Every operation of ``document`` as ``METHOD /path``."""
    return [
        f"{method.upper()} {path}"
        for path, operations in (document.get("paths") or {}).items()
        for method in operations
        if method in HTTP_METHODS
    ]


# --- in process: one service's own document against its app ---------------------------------------

OPS_PATHS = ("/healthz", "/readyz", "/metrics")
DEFAULT_CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)


@dataclass
class FuzzRun:
    """What an in-process run sent and what went wrong."""

    sent: int = 0
    operations: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def assert_clean(self, *, min_operations: int, min_sent: int) -> None:
        assert len(self.operations) >= min_operations, f"only {len(self.operations)} operations exercised"
        assert self.sent >= min_sent, f"only {self.sent} requests sent"
        assert not self.failures, f"{len(self.failures)} failures:\n" + "\n".join(self.failures[:10])


def _generate(
    document: dict[str, Any],
    *,
    examples: int,
    base_url: str,
    skip: Callable[[str], bool],
    emit: Callable[[tuple[Any, dict[str, Any]] | None], None],
) -> None:
    """Generate cases operation by operation, handing each over as soon as it exists (None: done)."""
    schema = schemathesis.openapi.from_dict(document)
    try:
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            if operation.path in OPS_PATHS or skip(operation.path):
                continue

            @settings(
                max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
            )
            @given(case=operation.as_strategy())
            def collect(case: Any) -> None:
                emit((case, case.as_transport_kwargs(base_url=base_url)))

            collect()
    finally:
        emit(None)


async def fuzz_app(
    app: Any,
    *,
    headers: Callable[[], Awaitable[Mapping[str, str]]] | Mapping[str, str],
    examples: int,
    base_url: str = "http://service.test",
    skip: Callable[[str], bool] = lambda _path: False,
    isolate: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
    checks: Sequence[Callable[..., Any]] = DEFAULT_CHECKS,
) -> FuzzRun:
    """Send schemathesis' cases for ``app``'s own OpenAPI to the app in process (real database).

    Cases are generated in a thread (the app keeps its event loop) with the hooks of
    :mod:`aintech_devtools.fuzz_hooks`; each is sent with ``headers`` (a token that reaches the
    business rules), inside ``isolate()`` when given (a savepoint of the test's transaction), and
    its answer validated with ``checks``; every refusal must be problem+json.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[Any, dict[str, Any]] | None] = asyncio.Queue()

    def emit(item: tuple[Any, dict[str, Any]] | None) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, item)

    producer = loop.run_in_executor(
        None,
        functools.partial(
            _generate, app.openapi(), examples=examples, base_url=base_url, skip=skip, emit=emit
        ),
    )
    run = FuzzRun()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=base_url
    )
    try:
        while (item := await queue.get()) is not None:
            case, kwargs = item
            auth = await headers() if callable(headers) else headers
            request_headers = {**(kwargs.get("headers") or {}), **auth}
            if kwargs.get("cookies"):
                request_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in kwargs["cookies"].items())
            body: dict[str, Any] = {}
            if "json" in kwargs:
                # ASCII-escaped, as a client library sends it: a lone surrogate is valid JSON text
                # (\ud800) but no UTF-8 (httpx's own encoder would refuse to send it).
                body["content"] = json.dumps(kwargs["json"], allow_nan=False).encode()
                request_headers.setdefault("Content-Type", "application/json")
            elif isinstance(kwargs.get("data"), dict):
                body["data"] = kwargs["data"]
            elif kwargs.get("data") is not None:
                body["content"] = kwargs["data"]
            if kwargs.get("files"):
                body["files"] = kwargs["files"]
            async with isolate() if isolate is not None else contextlib.nullcontext():
                response = await client.request(
                    kwargs["method"],
                    kwargs["url"],
                    headers=request_headers,
                    params=kwargs.get("params"),
                    **body,
                )
            run.sent += 1
            label = case.operation.label
            run.operations.add(label)
            if (
                response.status_code >= 400
                and response.headers.get("content-type") != "application/problem+json"
            ):
                run.failures.append(
                    f"{label}: {response.status_code} is not problem+json: {response.text[:200]}"
                )
                continue
            if kwargs.get("files"):
                # A multipart body streams: read it for the checks. A generated file that is no
                # file at all (an integer) cannot be encoded by any client: not a case to judge.
                try:
                    await response.request.aread()
                except (AttributeError, TypeError):
                    continue
            try:
                case.validate_response(response, checks=list(checks))
            except AssertionError as exc:
                run.failures.append(f"{label}: {str(exc)[:600]}")
    finally:
        await client.aclose()
        await producer
    return run


async def hostile_bodies_refused(
    app: Any,
    *,
    headers: Callable[[], Awaitable[Mapping[str, str]]] | Mapping[str, str],
    base_url: str = "http://hostile.test",
) -> tuple[int, list[str]]:
    """Send every :func:`aintech_devtools.hostile.hostile_json_requests` case of ``app``'s document
    (hostile keys in each free-form object, one request per key); the number sent and the answers
    that were not a 422 problem+json."""
    cases = list(hostile_json_requests(app.openapi()))
    wrong: list[str] = []
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        for case in cases:
            auth = await headers() if callable(headers) else headers
            response = await client.request(
                case.method, case.url, headers={**auth, "Content-Type": "application/json"}, content=case.body
            )
            if not refused_properly(response.status_code, response.headers.get("content-type", "")):
                wrong.append(f"{case.label}: {response.status_code} {response.text[:200]}")
    return len(cases), wrong
