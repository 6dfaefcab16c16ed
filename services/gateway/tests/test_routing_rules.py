"""The gateway's rules as data: public paths, internal surfaces, canonical paths, budgets."""

from __future__ import annotations

import math
import random
import threading
import time

import pytest
from limits import RateLimitItem
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from aintech_contracts.fleet import BACKENDS, BY_NAME
from gateway.ratelimit import EdgeRateLimiter, Verdict, client_key
from gateway.settings import Settings
from gateway.upstreams import PathTable, Refusal, Routes, Target, canonical


@pytest.fixture(scope="module")
def routes() -> Routes:
    return Routes(Settings())


def test_every_declared_public_path_is_public_and_the_rest_is_not(routes: Routes) -> None:
    for spec in BACKENDS:
        for pattern in spec.public_paths:
            path = f"/api/{spec.route}" + pattern.replace("*", "google")
            target = routes.resolve(path)
            assert isinstance(target, Target) and target.public, path
    for path in (
        "/api/auth/me",
        "/api/auth/logout",
        "/api/auth/verify-email/resend",
        "/api/crm/customers",
        "/api/auth/login/extra",
        "/api/auth/oauth/google/callback/x",
    ):
        target = routes.resolve(path)
        assert isinstance(target, Target) and not target.public, path
    webhook = routes.resolve("/webhooks/twilio/voice/status")
    assert isinstance(webhook, Target) and webhook.public and webhook.route_class == "webhooks"


@pytest.mark.parametrize(
    "path",
    [
        "/api/telephony/webhooks/twilio/voice/incoming",
        "/api/omnichannel/webhooks/sendgrid/events",
        "/api/omnichannel/webhooks/twilio/messaging/status",
        "/api/omnichannel/Webhooks/sendgrid/events",
        "/api/omnichannel/webhooks",
        "/api/crm/webhooks/",
    ],
)
def test_a_provider_webhook_has_one_public_path(routes: Routes, path: str) -> None:
    refused = routes.resolve(path)
    assert isinstance(refused, Refusal) and refused.status == 404, path
    assert "/webhooks/" in refused.detail and "without /api/" in refused.detail
    owned = routes.resolve(path[path.index("/", len("/api/")) :].replace("/Webhooks", "/webhooks"))
    if path.endswith(("/incoming", "/events", "/status")):
        assert isinstance(owned, Target) and owned.public and owned.prefix == ""


def test_websockets_are_declared_in_the_fleet_registry(routes: Routes) -> None:
    assert BY_NAME["omnichannel"].websockets == ("chat", "inbox", "notifications")
    assert BY_NAME["telephony"].websockets == ("calls",)
    target = routes.resolve_websocket("/ws/omnichannel/chat/42")
    assert isinstance(target, Target) and target.path == "/ws/chat/42"
    assert isinstance(routes.resolve_websocket("/ws/crm/chat/42"), Refusal)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/api/auth/me", "/api/auth/me"),
        ("/api/auth/.well-known/jwks.json", "/api/auth/.well-known/jwks.json"),
        ("/api/crm/customers/Mar%C3%ADa", "/api/crm/customers/María"),
        ("/api/crm/customers/", "/api/crm/customers/"),
        ("/api/auth/../metrics", None),
        ("/api/auth/%2e%2e/metrics", None),
        ("/api/auth/./metrics", None),
        ("/api/auth//metrics", None),
        ("/api/auth/a%2Fb", None),
        ("/api/auth/a%5Cb", None),
        ("/api/auth/a%00b", None),
        ("/api/auth/%ff", None),
        ("relative", None),
    ],
)
def test_only_canonical_paths_are_forwarded(raw: str, expected: str | None) -> None:
    assert canonical(raw) == expected


def test_rate_limit_classes_come_from_settings(routes: Routes) -> None:
    login = routes.resolve("/api/auth/login")
    assert isinstance(login, Target) and login.route_class == "sign-in"
    callback = routes.resolve("/api/auth/oauth/microsoft/callback")
    assert isinstance(callback, Target) and callback.route_class == "sign-in"
    merged = Settings(rate_limits={"sign-in": "1/second"})
    assert merged.rate_limits["sign-in"] == "1/second" and merged.rate_limits["anonymous"] == "120/minute"
    with pytest.raises(ValueError, match="unknown classes"):
        Settings(rate_limit_routes={"/api/auth/me": "nope"})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/webhooks", "webhooks"),
        ("/webhooks/twilio/voice/status", "webhooks"),
        ("/api/auth/oauth/google/callback", "sign-in"),
        ("/api/auth/oauth/google/callback/", "sign-in"),
        ("/api/auth/oauth/google/start", None),
        ("/api/auth/oauth", None),
        ("/api/crm/customers/42", None),
        ("/api/partner/x/y", "partner"),  # a pattern written without its leading slash
        ("/api/partner/x", None),
        ("/anything/deep/z", "first-wild"),  # a pattern whose first segment is the wildcard
    ],
)
def test_route_class_patterns_match_as_declared(path: str, expected: str | None) -> None:
    table = PathTable(
        {
            **Settings().rate_limit_routes,
            "api/partner/*/y": "partner",
            "/*/deep/z": "first-wild",
        }
    )
    assert table.get(path) == expected


def test_ipv6_clients_share_a_budget_per_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert client_key("198.51.100.7") == "198.51.100.7"


def test_the_rate_limiter_starts_no_thread_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stock `limits` memory storage starts an expiry thread every ~10 ms under traffic."""
    limiter = EdgeRateLimiter(Settings(rate_limits={"anonymous": "1000000/minute"}))
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    for i in range(2000):
        assert limiter.charge("anonymous", f"198.51.100.{i % 200}", None).allowed
        if i % 500 == 0:
            time.sleep(0.02)
    assert started == []
    limiter.storage.sweep()


def reference_charge(
    strategy: SlidingWindowCounterRateLimiter, limiter: EdgeRateLimiter, key: str, names: tuple[str, ...]
) -> Verdict:
    """What the gateway answered when it charged through `limits`' own strategy (before 0068)."""

    def verdict(item: RateLimitItem, name: str, allowed: bool) -> Verdict:
        stats = strategy.get_window_stats(item, name, key)
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed=allowed, limit=item.amount, remaining=stats.remaining, reset_after=reset_after)

    charged: list[tuple[RateLimitItem, str]] = []
    for name in names:
        for item in limiter.items[name]:
            if not strategy.hit(item, name, key):
                return verdict(item, name, False)
            charged.append((item, name))
    return min((verdict(item, name, True) for item, name in charged), key=lambda v: v.remaining)


def test_the_sliding_window_answers_exactly_as_the_limits_library(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_800_000_000.25]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    limiter = EdgeRateLimiter(
        Settings(rate_limits={"anonymous": "5/second;12/minute", "sign-in": "3/second;7/minute"})
    )
    strategy = SlidingWindowCounterRateLimiter(MemoryStorage())
    rng = random.Random(15)
    refused = 0
    for _ in range(600):
        clock[0] += rng.choice([0.01, 0.03, 0.07, 0.13, 0.41, 1.1, 7.3, 61.7])
        key = rng.choice(["198.51.100.7", "198.51.100.8"])
        route_class = rng.choice([None, None, "sign-in"])
        names = ("anonymous",) if route_class is None else ("anonymous", route_class)
        got = limiter.charge("anonymous", key, route_class)
        assert got == reference_charge(strategy, limiter, key, names), f"at {clock[0]}"
        refused += not got.allowed
    assert 0 < refused < 600, "the sequence exercises both answers"
    clock[0] += 180
    limiter.storage.sweep()
    assert limiter.storage.size() == 0, "counters two windows old are dropped"


def test_production_refuses_the_default_identity_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AINTECH_ENV", "production")
    with pytest.raises(ValueError, match="AINTECH_IDENTITY_SECRET"):
        Settings()


def test_inbound_leads_reach_the_crm_as_a_public_webhook(routes: Routes) -> None:
    lead = routes.resolve("/webhooks/leads/web")
    assert (
        isinstance(lead, Target) and lead.public and lead.prefix == "" and lead.path == "/webhooks/leads/web"
    )
    assert lead.upstream.spec.name == "core_crm" and lead.route_class == "webhooks"
    refused = routes.resolve("/api/crm/webhooks/leads/web")
    assert isinstance(refused, Refusal) and refused.status == 404
