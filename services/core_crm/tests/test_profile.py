"""The customer as a whole: stats, lifetime value, segmentation, merge, GDPR export and erasure."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import text

from aintech_contracts.rbac import Role
from core_crm.core.base import today

from .conftest import DNIS, Api


def _term(days_ago: int, length: int = 365) -> dict[str, str]:
    start = today() - timedelta(days=days_ago)
    return {"coverage_start_date": str(start), "coverage_end_date": str(start + timedelta(days=length))}


async def test_stats_and_lifetime_value(api: Api) -> None:
    customer = await api.customer()
    await api.policy(customer["id"], premium_amount="100.00", premium_frequency="monthly", **_term(73))
    await api.policy(customer["id"], premium_amount="300.00", **_term(10))
    stats = (await api.call("GET", f"/customers/{customer['id']}/stats", expect=200)).json()
    assert stats["policies_active"] == 2 and stats["annual_premium"] == "1500.00"
    assert stats["suggested_segment"] == "premium" and stats["policies_by_type"] == {"home": 2}
    ltv = (await api.call("GET", f"/customers/{customer['id']}/lifetime-value", expect=200)).json()
    earned = Decimal(1200) * 73 / 365 + Decimal(300) * 10 / 365
    assert Decimal(ltv["premium_earned"]) == earned.quantize(Decimal("0.01"))
    assert ltv["projected_premium"] == "7500.00"  # premium segment: 5 years
    assert Decimal(ltv["lifetime_value"]) == Decimal(ltv["premium_earned"]) + Decimal("7500.00")


async def test_segmentation_rules_and_event(api: Api) -> None:
    customer = await api.customer()
    assert (await api.call("POST", f"/customers/{customer['id']}/segment", expect=200)).json()[
        "segment"
    ] == "prospect"
    await api.policy(customer["id"], premium_amount="3200.00", **_term(5))
    result = (await api.call("POST", f"/customers/{customer['id']}/segment", expect=200)).json()
    assert result == {
        "customer_id": customer["id"],
        "previous_segment": "prospect",
        "segment": "vip",
        "changed": True,
        "reasons": ["annual premium 3200.00 ≥ 3000"],
    }
    assert [e["data"]["segment"] for e in await api.events("customer.updated", key=customer["id"])][
        -1
    ] == "vip"
    small = await api.customer()
    await api.policy(small["id"], premium_amount="200.00", **_term(5))
    assert (await api.call("POST", f"/customers/{small['id']}/segment", expect=200)).json()[
        "segment"
    ] == "new"
    await api.conn.execute(
        text("UPDATE crm.customers SET customer_since = current_date - 800 WHERE id = :c"), {"c": small["id"]}
    )
    assert (await api.call("POST", f"/customers/{small['id']}/segment", expect=200)).json()[
        "segment"
    ] == "standard"


async def test_merge_moves_everything_in_one_transaction(api: Api) -> None:
    survivor = await api.customer(email=None, tags=["a"])
    duplicate = await api.customer(mobile="611222333", dni=DNIS[3], tags=["b"], notes="Prefiere tarde")
    policy = await api.policy(duplicate["id"])
    await api.call("POST", "/interactions", json={"customer_id": duplicate["id"], "type": "call"}, expect=201)
    await api.call("POST", "/tasks", json={"title": "Llamar", "customer_id": duplicate["id"]}, expect=201)
    merged = (
        await api.call(
            "POST", f"/customers/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, expect=200
        )
    ).json()
    assert merged["moved"] == {
        "policies": 1,
        "claims": 0,
        "quotes": 0,
        "interactions": 1,
        "tasks": 1,
        "renewal_confirmations": 0,
        "linked_contacts": 0,
    }
    assert {"email", "mobile", "dni", "tags"} <= set(merged["filled_fields"])
    assert merged["survivor"]["email"] == duplicate["email"] and merged["survivor"]["tags"] == ["a", "b"]
    assert (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()["customer_id"] == survivor[
        "id"
    ]
    gone = (await api.call("GET", f"/customers/{duplicate['id']}", expect=200)).json()
    assert gone["status"] == "merged" and gone["merged_into"] == survivor["id"]
    [deleted] = await api.events("customer.deleted", key=duplicate["id"])
    assert deleted["data"]["reason"] == "merged" and deleted["data"]["merged_into"] == survivor["id"]
    audit = await api.conn.execute(text("SELECT customer_id FROM crm.customer_audit WHERE action = 'merged'"))
    assert {str(r[0]) for r in audit} >= {survivor["id"], duplicate["id"]}
    await api.call(
        "POST", f"/customers/{survivor['id']}/merge", json={"duplicate_id": duplicate["id"]}, expect=409
    )
    await api.call(
        "POST", f"/customers/{survivor['id']}/merge", json={"duplicate_id": survivor["id"]}, expect=422
    )
    await api.call(
        "POST", f"/customers/{survivor['id']}/merge", json={"duplicate_id": str(uuid.uuid4())}, expect=422
    )


async def test_export_holds_everything_and_customers_get_only_their_own(api: Api) -> None:
    customer = await api.customer()
    other = await api.customer()
    policy = await api.policy(customer["id"])
    await api.call(
        "POST",
        "/claims",
        json={
            "policy_id": policy["id"],
            "claim_type": "theft",
            "description": "Robo",
            "incident_date": "2026-03-01T10:00:00Z",
        },
        expect=201,
    )
    me = await api.customer_login(customer["id"])
    document = (await api.call("GET", f"/customers/{customer['id']}/export", headers=me, expect=200)).json()
    assert document["customer"]["email"] == customer["email"]
    assert [p["id"] for p in document["policies"]] == [policy["id"]] and document["policies"][0]["terms"]
    assert document["claims"][0]["history"][0]["to_status"] == "reported"
    await api.call("GET", f"/customers/{other['id']}/export", headers=me, expect=404)
    audited = await api.conn.scalar(
        text("SELECT count(*) FROM crm.customer_audit WHERE customer_id = :c AND action = 'exported'"),
        {"c": customer["id"]},
    )
    assert audited == 1


async def test_erasure_anonymises_but_keeps_contracts(api: Api) -> None:
    customer = await api.customer(dni=DNIS[4], mobile="622333444", iban="ES9121000418450200051332")
    policy = await api.policy(customer["id"])
    await api.call(
        "POST",
        "/interactions",
        json={"customer_id": customer["id"], "type": "call", "description": "Habló de su salud"},
        expect=201,
    )
    url = f"/customers/{customer['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("POST", f"{url}/erase", headers={**api.agent, "If-Match": etag}, expect=403)
    boss = {**api.auth(Role.supervisor, sub=str(uuid.uuid4())), "If-Match": etag}
    blocked = await api.call("POST", f"{url}/erase", headers=boss, expect=409)
    assert blocked.json()["active_policies"] == 1
    await api.call("POST", f"/policies/{policy['id']}/cancel", json={"reason": "Baja"}, expect=200)
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    erased = (await api.call("POST", f"{url}/erase", headers={**boss, "If-Match": etag}, expect=200)).json()
    assert (erased["first_name"], erased["email"], erased["dni"], erased["mobile"], erased["iban"]) == (
        "Cliente",
        None,
        None,
        None,
        None,
    )
    assert erased["status"] == "erased" and erased["province"] == "Madrid"
    assert (await api.call("GET", f"/policies/{policy['id']}", expect=200)).json()["customer_id"] == customer[
        "id"
    ]
    timeline = (await api.call("GET", f"{url}/timeline", expect=200)).json()["items"]
    assert timeline[0]["description"] is None and timeline[0]["type"] == "call"
    [event] = await api.events("customer.deleted", key=customer["id"])
    assert event["data"]["reason"] == "erased"
    found = (await api.call("GET", "/customers", params={"q": customer["email"]}, expect=200)).json()
    assert found["items"] == []
    await api.customer(dni=DNIS[4], email=customer["email"])  # identifiers are free again


async def test_delete_is_refused_while_business_is_live(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    url = f"/customers/{customer['id']}"
    etag = (await api.call("GET", url, expect=200)).headers["etag"]
    await api.call("DELETE", url, expect=428)
    await api.call("DELETE", url, headers={**api.agent, "If-Match": etag}, expect=409)
    await api.call("POST", f"/policies/{policy['id']}/cancel", json={"reason": "Baja"}, expect=200)
    await api.call("DELETE", url, headers={**api.agent, "If-Match": etag}, expect=204)
    assert (await api.events("customer.deleted", key=customer["id"]))[0]["data"]["reason"] == "deleted"
    await api.call(
        "PATCH", url, json={"city": "Madrid"}, headers={**api.agent, "If-Match": '"2"'}, expect=409
    )
