"""Every published event on the real broker, and every consumer fed through Kafka (relay running)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from aintech_contracts.events.auth import UserEmailChanged, UserEmailVerified, UserRegistered
from aintech_contracts.events.crm import InteractionLogged
from aintech_contracts.rbac import Role
from core_crm.core.base import today
from core_crm.policies import service as policies

from .conftest import Flow


async def test_every_crm_event_reaches_kafka_keyed_by_its_aggregate(flow: Flow) -> None:
    api = flow.api
    sup = api.supervisor
    customer = await api.customer(first_name="Elena", last_name="Vidal")
    cid = customer["id"]
    etag = (await api.call("GET", f"/customers/{cid}", expect=200)).headers["etag"]
    await api.call(
        "PATCH",
        f"/customers/{cid}",
        json={"city": "Madrid"},
        headers={**api.agent, "If-Match": etag},
        expect=200,
    )
    soon = today() + timedelta(days=5)
    policy = await api.policy(
        cid, coverage_start_date=str(soon - timedelta(days=300)), coverage_end_date=str(soon)
    )
    pid = policy["id"]
    async with flow.db.transaction() as session:
        await policies.announce_expiring(session, rt=flow.rt)
    await api.call("POST", f"/policies/{pid}/renew", json={"premium_amount": "450.00"}, expect=200)
    claims = []
    for _ in range(3):
        claims.append(
            (
                await api.call(
                    "POST",
                    "/claims",
                    json={
                        "policy_id": pid,
                        "claim_type": "water_damage",
                        "description": "Fuga",
                        "incident_date": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                        "claimed_amount": "500",
                    },
                    expect=201,
                )
            ).json()["id"]
        )
    for claim_id in claims[:2]:
        await api.call("POST", f"/claims/{claim_id}/investigate", expect=200)
    await api.call("POST", f"/claims/{claims[0]}/approve", json={"amount": "400"}, headers=sup, expect=200)
    await api.call("POST", f"/claims/{claims[0]}/pay", headers=sup, expect=200)
    await api.call("POST", f"/claims/{claims[1]}/deny", json={"reason": "Excluido"}, headers=sup, expect=200)
    quote = (
        await api.call(
            "POST",
            "/quotes",
            json={
                "customer_id": cid,
                "quote_type": "home",
                "base_premium": "300",
                "coverage_details": {"property_address": "Calle Luna 3", "property_type": "house"},
            },
            expect=201,
        )
    ).json()
    converted = (
        await api.call("POST", f"/quotes/{quote['id']}/convert", json={"carrier": "AXA"}, expect=200)
    ).json()
    interaction = (
        await api.call("POST", "/interactions", json={"customer_id": cid, "type": "meeting"}, expect=201)
    ).json()
    task = (
        await api.call("POST", "/tasks", json={"title": "Revisar", "customer_id": cid}, expect=201)
    ).json()
    await api.call("POST", f"/tasks/{task['id']}/complete", expect=200)
    await api.call(
        "POST", f"/policies/{converted['policy_id']}/cancel", json={"reason": "Desiste"}, expect=200
    )
    other = await api.customer()
    etag = (await api.call("GET", f"/customers/{other['id']}", expect=200)).headers["etag"]
    await api.call("DELETE", f"/customers/{other['id']}", headers={**api.agent, "If-Match": etag}, expect=204)

    expected = [
        ("crm.customer", "customer.created", cid),
        ("crm.customer", "customer.updated", cid),
        ("crm.customer", "customer.deleted", other["id"]),
        ("crm.policy", "policy.created", pid),
        ("crm.policy", "policy.expiring_soon", pid),
        ("crm.policy", "policy.renewed", pid),
        ("crm.policy", "policy.cancelled", converted["policy_id"]),
        ("crm.claim", "claim.created", claims[2]),
        ("crm.claim", "claim.updated", claims[1]),
        ("crm.claim", "claim.approved", claims[0]),
        ("crm.claim", "claim.denied", claims[1]),
        ("crm.claim", "claim.paid", claims[0]),
        ("crm.quote", "quote.created", quote["id"]),
        ("crm.quote", "quote.converted", quote["id"]),
        ("crm.interaction", "interaction.created", cid),
        ("crm.task", "task.created", task["id"]),
        ("crm.task", "task.completed", task["id"]),
    ]
    seen = await flow.collect(expected)
    assert len(seen) == 17
    assert seen["claim.paid"]["data"]["paid_amount"] == "400.00"
    assert seen["policy.renewed"]["data"]["premium_amount"] == "450.00"
    assert seen["quote.converted"]["data"]["policy_id"] == converted["policy_id"]
    assert seen["interaction.created"]["data"]["interaction_id"] == interaction["id"]
    assert seen["customer.created"]["source"] == "core-crm"


async def test_customer_created_gets_a_welcome_task(flow: Flow) -> None:
    owner = str(uuid.uuid4())
    customer = await flow.api.customer(owner_id=owner)
    title = await flow.wait_for(
        "SELECT title FROM crm.tasks WHERE customer_id = :c AND task_type = 'welcome' AND assigned_to = :o",
        {"c": customer["id"], "o": owner},
    )
    assert "Lucía Martín" in title


async def test_policy_expiring_soon_gets_one_renewal_task(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer()
    soon = today() + timedelta(days=12)
    policy = await api.policy(
        customer["id"], coverage_start_date=str(soon - timedelta(days=365)), coverage_end_date=str(soon)
    )
    for _ in range(2):
        async with flow.db.transaction() as session:
            await policies.announce_expiring(session, rt=flow.rt)
    priority = await flow.wait_for(
        "SELECT priority FROM crm.tasks WHERE policy_id = :p AND task_type = 'renewal'", {"p": policy["id"]}
    )
    assert priority == "high"
    task_id = await api.conn.scalar(
        text("SELECT id FROM crm.tasks WHERE policy_id = :p"), {"p": policy["id"]}
    )
    await flow.event("crm.task", "task.created", str(task_id))
    count = await api.conn.scalar(
        text("SELECT count(*) FROM crm.tasks WHERE policy_id = :p AND task_type = 'renewal'"),
        {"p": policy["id"]},
    )
    assert count == 1, "announced twice, one task"


async def test_claim_created_gets_an_adjuster(flow: Flow) -> None:
    api = flow.api
    adjuster = uuid.uuid4()
    await flow.publish(
        UserRegistered(
            user_id=adjuster,
            email=f"adj-{adjuster.hex[:6]}@example.com",
            first_name="Pedro",
            last_name="Perito",
            role="agent",
            registered_at=datetime.now(UTC),
        ),
        key=str(adjuster),
        source="authenticator",
    )
    await flow.wait_for("SELECT 1 FROM crm.accounts WHERE user_id = :u", {"u": str(adjuster)})
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    claim = (
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
    ).json()
    assigned = await flow.wait_for("SELECT adjuster_id FROM crm.claims WHERE id = :c", {"c": claim["id"]})
    assert assigned is not None
    updated = await flow.event("crm.claim", "claim.updated", claim["id"])
    assert updated["data"]["changed_fields"] == ["adjuster_id"]


async def test_quote_created_requests_the_quote_email(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer()
    quote = (
        await api.call(
            "POST",
            "/quotes",
            json={
                "customer_id": customer["id"],
                "quote_type": "auto",
                "base_premium": "500",
                "coverage_details": {"make": "SEAT", "model": "Ibiza", "year": 2020, "plate": "1111BBB"},
                "carrier_quotes": [
                    {"carrier": "Zurich", "premium": "480"},
                    {"carrier": "Generali", "premium": "510"},
                ],
            },
            expect=201,
        )
    ).json()
    email = await flow.event("crm.notification", "crm.email_requested", customer["id"])
    assert email["data"]["to"] == customer["email"]
    assert email["data"]["related_id"] == quote["id"] and "Zurich: 480" in email["data"]["body_text"]
    assert email["data"]["subject"].startswith("Tu presupuesto") and email["data"]["language"] == "es"

    english = await api.customer(preferred_language="en", first_name="John")
    await api.call(
        "POST",
        "/quotes",
        json={
            "customer_id": english["id"],
            "quote_type": "home",
            "base_premium": "300",
            "coverage_details": {"address": "Calle Mayor 1", "sqm": 80},
            "carrier_quotes": [{"carrier": "AXA", "premium": "290"}],
        },
        expect=201,
    )
    in_english = (await flow.event("crm.notification", "crm.email_requested", english["id"]))["data"]
    assert in_english["subject"].startswith("Your quote") and "Hello John" in in_english["body_text"]
    assert "AXA: 290" in in_english["body_text"] and in_english["language"] == "en"


async def test_interaction_logged_lands_on_the_timeline_once(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer(mobile="655443322")
    call = InteractionLogged(
        source="telephony",
        external_id=f"CA{uuid.uuid4().hex}",
        type="call",
        direction="inbound",
        occurred_at=datetime.now(UTC),
        phone="+34655443322",
        duration_seconds=95,
        subject="Consulta de siniestro",
    )
    for _ in range(2):  # a redelivery or a duplicate publish
        await flow.publish(call, key="+34655443322", source="telephony")
    await flow.wait_for("SELECT 1 FROM crm.interactions WHERE external_id = :x", {"x": call.external_id})
    await flow.event("crm.interaction", "interaction.created", customer["id"])
    timeline = (await api.call("GET", f"/customers/{customer['id']}/timeline", expect=200)).json()["items"]
    assert [(i["source"], i["duration"], i["subject"]) for i in timeline] == [
        ("telephony", 95, "Consulta de siniestro")
    ]


async def test_verified_customer_account_is_linked_whichever_event_comes_first(flow: Flow) -> None:
    api = flow.api
    customer = await api.customer()
    user_id = uuid.uuid4()
    await flow.publish(
        UserEmailVerified(user_id=user_id, email=customer["email"], verified_at=datetime.now(UTC)),
        key=str(user_id),
        source="authenticator",
    )
    await flow.wait_for("SELECT email_verified FROM crm.accounts WHERE user_id = :u", {"u": str(user_id)})
    assert (await api.call("GET", f"/customers/{customer['id']}", expect=200)).json()["user_id"] is None
    await flow.publish(
        UserRegistered(
            user_id=user_id,
            email=customer["email"],
            first_name="Lucía",
            last_name="Martín",
            role="customer",
            registered_at=datetime.now(UTC),
        ),
        key=str(user_id),
        source="authenticator",
    )
    linked = await flow.wait_for("SELECT user_id FROM crm.customers WHERE id = :c", {"c": customer["id"]})
    assert str(linked) == str(user_id)
    me = api.auth(Role.customer, sub=str(user_id))
    assert (await api.call("GET", "/customers/me", headers=me, expect=200)).json()["id"] == customer["id"]


async def test_an_account_that_moved_to_another_address_is_not_linked_by_its_old_one(flow: Flow) -> None:
    """The old address proves nothing once the account proved a new one: a customer created later with
    the old address stays unlinked (whoever now holds that mailbox did not prove anything to us)."""
    api = flow.api
    user_id = uuid.uuid4()
    old, new = f"old-{uuid.uuid4().hex[:8]}@example.com", f"new-{uuid.uuid4().hex[:8]}@example.com"
    now = datetime.now(UTC)
    for payload in (
        UserRegistered(
            user_id=user_id, email=old, first_name="Ana", last_name="Ruiz", role="customer", registered_at=now
        ),
        UserEmailVerified(user_id=user_id, email=old, verified_at=now),
        UserEmailChanged(user_id=user_id, old_email=old, new_email=new, first_name="Ana", changed_at=now),
    ):
        await flow.publish(payload, key=str(user_id), source="authenticator")
    await flow.wait_for(
        "SELECT 1 FROM crm.accounts WHERE user_id = :u AND email = :e", {"u": str(user_id), "e": new}
    )
    by_old = await api.customer(email=old)
    assert by_old["user_id"] is None, "linked by an address the account no longer proves"
    by_new = await api.customer(email=new)
    assert by_new["user_id"] == str(user_id)
