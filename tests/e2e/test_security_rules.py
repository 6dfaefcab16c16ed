"""Business-rule and input holes, attacked through the gateway on the real fleet (issue 13, medium
and low findings): backdated cover, racing and retried transitions, accepting an unsent draft,
hostile JSON keys, IPv6 forms of internal addresses in workflow webhooks, webhooks under a second
path, and problems that do not say what is wrong."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx

from .conftest import Fleet

SEED_PASSWORD = "Aintech-Demo-2026!"
HOME = {"property_address": "Calle Mayor 12, Madrid", "property_type": "apartment"}


def _token(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}"
    )
    return resp.json() if resp.content else None


def _customer(gw: httpx.Client, agent: dict[str, str]) -> dict[str, Any]:
    body = {
        "first_name": "Elena",
        "last_name": "Sanz",
        "email": f"sec-{uuid.uuid4().hex[:10]}@example.com",
        "postal_code": "28013",
    }
    return dict(_ok(gw.post("/api/crm/customers", headers=agent, json=body), 201))


def _policy_body(customer_id: str, start: date, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "policy_type": "home",
        "carrier": "Mapfre",
        "coverage_start_date": str(start),
        "coverage_end_date": str(start + timedelta(days=365)),
        "premium_amount": "420.00",
        "details": HOME,
        **extra,
    }


def test_backdated_cover_needs_a_supervisor_and_a_recorded_reason(gw: httpx.Client) -> None:
    agent, supervisor = _token(gw, "agent1@aintech.com"), _token(gw, "supervisor1@aintech.com")
    customer = _customer(gw, agent)
    decades_ago = date.today() - timedelta(days=365 * 25)
    refused = gw.post("/api/crm/policies", headers=agent, json=_policy_body(customer["id"], decades_ago))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "coverage_start_date"
    reason = "Continuidad de cobertura acreditada por la aseguradora anterior"
    with_reason = _policy_body(customer["id"], decades_ago, backdating_reason=reason)
    assert gw.post("/api/crm/policies", headers=agent, json=with_reason).status_code == 403
    created = _ok(gw.post("/api/crm/policies", headers=supervisor, json=with_reason), 201)
    shown = _ok(gw.get(f"/api/crm/policies/{created['id']}", headers=agent))
    assert shown["backdating_reason"] == reason and shown["backdated_by"]


def test_racing_renewals_through_the_gateway_add_one_term(fleet: Fleet, gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    customer = _customer(gw, agent)
    policy = _ok(
        gw.post("/api/crm/policies", headers=agent, json=_policy_body(customer["id"], date.today())), 201
    )
    url = f"/api/crm/policies/{policy['id']}/renew"
    body = {"premium_amount": "450.00"}
    bare = gw.post(url, headers=agent, json=body)
    assert bare.status_code == 428 and "Idempotency-Key" in bare.json()["detail"]

    async def race(headers: dict[str, str]) -> list[httpx.Response]:
        # Separate clients: separate connections through the gateway to the service.
        clients = [httpx.AsyncClient(base_url=fleet.gateway, timeout=30) for _ in range(3)]
        try:
            return list(await asyncio.gather(*(c.post(url, headers=headers, json=body) for c in clients)))
        finally:
            for client in clients:
                await client.aclose()

    key = {"Idempotency-Key": str(uuid.uuid4())}
    same_key = asyncio.run(race({**agent, **key}))
    assert [r.status_code for r in same_key] == [200, 200, 200], [r.text for r in same_key]
    assert len({r.content for r in same_key}) == 1
    etag = same_key[0].headers["ETag"]
    same_etag = asyncio.run(race({**agent, "If-Match": etag}))
    assert sorted(r.status_code for r in same_etag) == [200, 412, 412], [r.text for r in same_etag]
    terms = _ok(gw.get(f"/api/crm/policies/{policy['id']}/terms", headers=agent))
    assert [t["term_number"] for t in terms] == [1, 2, 3], "one term per intended renewal"


def test_a_customer_cannot_accept_a_draft_that_was_never_sent(gw: httpx.Client) -> None:
    agent, me = _token(gw, "agent1@aintech.com"), _token(gw, "customer1@aintech.com")
    mine = _ok(gw.get("/api/crm/customers/me", headers=me))
    quote = _ok(
        gw.post(
            "/api/crm/quotes",
            headers=agent,
            json={
                "customer_id": mine["id"],
                "quote_type": "home",
                "coverage_details": HOME,
                "base_premium": "310.00",
            },
        ),
        201,
    )
    refused = gw.post(f"/api/crm/quotes/{quote['id']}/accept", headers=me)
    assert refused.status_code == 409 and "draft" in refused.json()["detail"]
    assert _ok(gw.get(f"/api/crm/quotes/{quote['id']}", headers=me))["status"] == "draft"
    _ok(gw.post(f"/api/crm/quotes/{quote['id']}/send", headers=agent))
    assert _ok(gw.post(f"/api/crm/quotes/{quote['id']}/accept", headers=me))["status"] == "accepted"


def test_hostile_keys_in_free_form_json_are_422(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    json_headers = {**agent, "Content-Type": "application/json"}
    for raw, field in (
        (b'"\\ud800": 1', "metadata.\\ud800"),
        (b'"a\\udc00b": {"x": 1}', "metadata.a\\udc00b"),
        (b'"nul\\u0000": true', "metadata.nul\\x00"),
    ):
        email = f"hk-{uuid.uuid4().hex[:8]}@example.com".encode()
        body = (
            b'{"first_name": "Ana", "last_name": "Gil", "email": "'
            + email
            + b'", "metadata": {'
            + raw
            + b"}}"
        )
        resp = gw.post("/api/crm/customers", headers=json_headers, content=body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"][0]["field"] == field


def test_workflow_webhooks_to_ipv6_forms_of_internal_addresses_are_refused(gw: httpx.Client) -> None:
    supervisor = _token(gw, "supervisor1@aintech.com")
    targets = {
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data": "NAT64 metadata",
        "http://[::a9fe:a9fe]/": "IPv4-compatible metadata",
        "http://[2002:a9fe:a9fe::1]/": "6to4 metadata",
        "http://[::ffff:a00:1]/": "IPv4-mapped private",
        "http://localhost:9/": "an internal name",
    }
    executions = {}
    for url in targets:
        workflow = _ok(
            gw.post(
                "/api/crm/workflows",
                headers=supervisor,
                json={
                    "name": f"ssrf-{uuid.uuid4().hex[:6]}",
                    "trigger": {"type": "manual"},
                    "steps": [{"type": "call_webhook", "url": url}],
                },
            ),
            201,
        )
        run = _ok(
            gw.post(f"/api/crm/workflows/{workflow['id']}/execute", headers=supervisor, json={"data": {}}),
            202,
        )
        executions[url] = run["id"]
    deadline = time.monotonic() + 120
    pending = dict(executions)
    while pending and time.monotonic() < deadline:
        for url, execution_id in list(pending.items()):
            run = _ok(gw.get(f"/api/crm/workflows/executions/{execution_id}", headers=supervisor))
            if run["status"] in ("failed", "completed"):
                assert run["status"] == "failed", (targets[url], run)
                error = run["steps"][-1]["error"]
                assert "private or reserved" in error, (targets[url], error)
                assert "127.0.0.1" not in error and "169.254" not in error and "10.0.0.1" not in error
                assert len(run["steps"]) == 1, "a refused target is not retried"
                del pending[url]
        if pending:
            time.sleep(0.5)  # polling the fleet's own worker, which runs on its own schedule
    assert not pending, f"the worker did not run {sorted(targets[u] for u in pending)}"


def test_a_provider_webhook_answers_at_one_public_path(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    for path in (
        "/api/telephony/webhooks/twilio/voice/incoming",
        "/api/omnichannel/webhooks/sendgrid/events",
        "/api/omnichannel/webhooks/twilio/messaging/incoming",
    ):
        resp = gw.post(path, headers=agent, data={"CallSid": "CA" + "0" * 32})
        assert resp.status_code == 404, (path, resp.status_code, resp.text)
        assert "/webhooks/" in resp.json()["detail"]
    spec = _ok(gw.get("/openapi.json"))
    # No provider intake under a service's API prefix (/api/<service>/webhooks/...). The CRM's
    # outbound webhook subscriptions (/api/crm/integrations/webhooks) are an admin API, not intake.
    assert not [p for p in spec["paths"] if p.startswith("/api/") and p.split("/")[3:4] == ["webhooks"]]
    assert any(p.startswith("/webhooks/twilio/voice/") for p in spec["paths"])


def test_every_refusal_says_what_is_wrong(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    answers = [
        gw.get("/api/crm/nowhere", headers=agent),
        gw.get("/api/crm/customers"),
        gw.delete("/api/crm/customers", headers=agent),
        gw.post("/api/crm/customers", headers={**agent, "Content-Type": "application/json"}, content=b"{"),
        gw.post("/api/crm/customers", headers=agent, json={"first_name": ""}),
        gw.get(f"/api/crm/policies/{uuid.uuid4()}", headers=agent),
        gw.post(f"/api/crm/policies/{uuid.uuid4()}/renew", headers=agent, json={"premium_amount": "1"}),
        gw.get("/api/payroll/x"),
        gw.get("/api/crm/metrics", headers=agent),
    ]
    for resp in answers:
        body = resp.json()
        where = f"{resp.request.method} {resp.request.url.path} -> {resp.status_code}"
        assert resp.headers["content-type"].startswith("application/problem+json"), where
        detail = body.get("detail", "").strip()
        assert detail and "://" not in detail, (where, body)
        assert detail.lower().rstrip(".") not in {body["title"].lower(), "not found", "bad request"}, (
            where,
            body,
        )
