"""Metric labels stay bounded whatever callers send: hostile paths, methods, event types, outcomes.

Each check drives a first round of hostile input, counts the series, drives a second round of
*different* hostile input and requires the count not to move: a label that copied any part of the
input (a raw path, an id, a method, an event type) would add a series per distinct value.
"""

from __future__ import annotations

import importlib
import re
import uuid
from collections.abc import Callable

import pytest
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from aintech_contracts.fleet import BY_NAME
from aintech_shared import metrics

CONVERTOR = re.compile(r":[a-z]+}")  # /customers/{id:uuid} is the template /customers/{id}


def _series(metric: str, **match: str) -> set[tuple[tuple[str, str], ...]]:
    out = set()
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name == metric and all(sample.labels.get(k) == v for k, v in match.items()):
                out.add(tuple(sorted(sample.labels.items())))
    return out


def _hostile_paths(round_: int) -> list[str]:
    token = uuid.uuid4().hex
    return [
        f"/{token}",
        f"/api/{token}/x",
        f"/customers/{token}",
        f"/customers/{uuid.uuid4()}",
        f"/customers/{uuid.uuid4()}/policies/{round_}",
        f"/healthz/{token}",
        f"/%2e%2e/{token}",
        f"/customers?q={token}",
        f"/{'a' * (50 + round_)}",
        f"/metrics/{token}",
    ]


@pytest.mark.parametrize("name", ["gateway", "core_crm"])
async def test_http_series_do_not_grow_with_hostile_paths_and_methods(
    name: str, admin_database_url: str, kafka_bootstrap: str
) -> None:
    spec = BY_NAME[name]
    app = importlib.import_module(f"{name}.app").create_app()
    declared = {getattr(r, "path", None) for r in app.router.routes} | {"unmatched"}

    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://svc") as client,
    ):

        async def hit(round_: int) -> None:
            for path in _hostile_paths(round_):
                for method in ("GET", "POST", "DELETE", f"X{uuid.uuid4().hex[:8].upper()}"):
                    await client.request(method, path, headers={"x-correlation-id": uuid.uuid4().hex})

        declared |= set((await client.get("/openapi.json")).json().get("paths", {}))
        before = _series("http_requests_total", service=spec.slug)  # other tests' apps share names
        await hit(1)
        first = _series("http_requests_total", service=spec.slug)
        latency_first = _series("http_request_duration_seconds_count", service=spec.slug)
        await hit(2)
        second = _series("http_requests_total", service=spec.slug)
        latency_second = _series("http_request_duration_seconds_count", service=spec.slug)

    assert first, "the requests were counted"
    assert second == first, f"new series from new hostile input: {sorted(second - first)[:5]}"
    assert latency_second == latency_first
    routes = {CONVERTOR.sub("}", dict(s)["route"]) for s in second - before}
    templates = {CONVERTOR.sub("}", str(t)) for t in declared}
    assert routes <= templates, f"a route label is not a route template: {routes - templates}"
    assert {dict(s)["method"] for s in second - before} <= {"GET", "POST", "DELETE", "OTHER"}


def _distinct_series_after(drive: Callable[[str], None], metric: str) -> int:
    before = len(_series(metric))
    for _ in range(25):
        drive(uuid.uuid4().hex)
    return len(_series(metric)) - before


def test_event_type_and_outcome_labels_fold_unknown_values() -> None:
    assert metrics.bounded_event_type("policy.renewed.x" + uuid.uuid4().hex) == "unknown"
    assert metrics.bounded_event_type("mine.handled", {"mine.handled": None}) == "mine.handled"
    assert metrics.bounded_event_type("malformed") == "malformed"
    assert _distinct_series_after(metrics.login_failed, "auth_login_failures_total") <= 1
    assert _distinct_series_after(metrics.account_locked, "auth_lockouts_total") <= 1
    assert _distinct_series_after(lambda v: metrics.job_finished("reports", v), "jobs_finished_total") <= 1


async def test_provider_outcomes_are_closed_words() -> None:
    async with metrics.observe_provider("twilio", "send_sms") as call:
        assert call.from_status(201) == "ok"
    for status in (400, 401, 404, 429, 500, 503, 0):
        with pytest.raises(RuntimeError):
            async with metrics.observe_provider("twilio", "send_sms") as call:
                call.from_status(status)
                raise RuntimeError("provider refused")
    async with metrics.observe_provider("twilio", "send_sms") as call:
        call.outcome = "whatever" + uuid.uuid4().hex
    outcomes = {dict(s)["outcome"] for s in _series("provider_requests_total", provider="twilio")}
    assert outcomes <= metrics.PROVIDER_OUTCOMES | {"other"}
    assert {"ok", "refused", "throttled", "failed", "unreachable"} <= outcomes
