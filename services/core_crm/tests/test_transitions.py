"""Transitions are safe to race and to retry: each needs If-Match or an Idempotency-Key; racing
requests with one key apply once and all answer with the first result; racing requests with one
ETag apply once and the others get 412. Real commits on several connections, no sleeps."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core_crm.core import transitions

from .conftest import Api, Live, once

RACERS = 3


async def _terms(api: Api, policy_id: str) -> int:
    return int(
        await api.conn.scalar(
            text("SELECT count(*) FROM crm.policy_terms WHERE policy_id = :p"), {"p": policy_id}
        )
        or 0
    )


async def _race_on_policy(live: Live, policy_id: str, send: Any) -> list[httpx.Response]:
    """Hold the policy's row lock while ``RACERS`` requests queue behind it (on the row or on the
    idempotency key the first one claimed), then let them all go."""
    async with live.database.engine.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text("SELECT 1 FROM crm.policies WHERE id = :p FOR UPDATE"), {"p": policy_id})
        requests = [asyncio.create_task(send()) for _ in range(RACERS)]
        try:
            await live.database.wait_for_lock_waiters(RACERS)
        finally:
            await transaction.rollback()
        return list(await asyncio.gather(*requests))


async def test_a_transition_without_if_match_or_idempotency_key_is_428(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    url = f"/policies/{policy['id']}"
    for action, body in (("renew", {"premium_amount": "400.00"}), ("cancel", {"reason": "x"})):
        refused = await api.call("POST", f"{url}/{action}", json=body, bare=True, expect=428)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "If-Match" in refused.json()["detail"] and "Idempotency-Key" in refused.json()["detail"]
    assert await _terms(api, policy["id"]) == 1
    quote = (
        await api.call(
            "POST",
            "/quotes",
            json={
                "customer_id": customer["id"],
                "quote_type": "home",
                "coverage_details": {"property_address": "Calle Mayor 12", "property_type": "apartment"},
                "base_premium": "300.00",
            },
            expect=201,
        )
    ).json()
    await api.call("POST", f"/quotes/{quote['id']}/convert", json={}, bare=True, expect=428)
    other = await api.customer()
    await api.call(
        "POST",
        f"/customers/{customer['id']}/merge",
        json={"duplicate_id": other["id"]},
        bare=True,
        expect=428,
    )


async def test_concurrent_renewals_with_one_key_add_one_term(live: Live) -> None:
    customer = await live.customer()
    policy = await live.policy(customer["id"])
    key = once()

    async def send() -> httpx.Response:
        return await live.client.post(
            f"/policies/{policy['id']}/renew",
            json={"premium_amount": "440.00"},
            headers={**live.agent, **key},
        )

    answers = await _race_on_policy(live, policy["id"], send)
    assert [r.status_code for r in answers] == [200] * RACERS, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1, "every repeat answers with the first result"
    assert sorted(r.headers.get("Idempotent-Replayed", "false") for r in answers) == ["false", "true", "true"]
    assert len({r.headers["ETag"] for r in answers}) == 1
    assert answers[0].json()["term_number"] == 2
    assert await _terms(live, policy["id"]) == 2
    renewed_events = await live.conn.scalar(
        text("SELECT count(*) FROM crm.outbox WHERE event_type = 'policy.renewed' AND key = :p"),
        {"p": policy["id"]},
    )
    assert renewed_events == 1
    # A retry long after answers the same, and does not renew again.
    again = await live.client.post(
        f"/policies/{policy['id']}/renew", json={"premium_amount": "440.00"}, headers={**live.agent, **key}
    )
    assert again.status_code == 200 and again.content == answers[0].content
    assert await _terms(live, policy["id"]) == 2


async def test_concurrent_renewals_with_one_etag_add_one_term(live: Live) -> None:
    customer = await live.customer()
    policy = await live.policy(customer["id"])
    etag = (await live.call("GET", f"/policies/{policy['id']}", expect=200)).headers["ETag"]

    async def send() -> httpx.Response:
        return await live.client.post(
            f"/policies/{policy['id']}/renew",
            json={"premium_amount": "440.00"},
            headers={**live.agent, "If-Match": etag},
        )

    answers = await _race_on_policy(live, policy["id"], send)
    assert sorted(r.status_code for r in answers) == [200, 412, 412], [r.text for r in answers]
    assert await _terms(live, policy["id"]) == 2


async def test_concurrent_payments_with_one_key_pay_once(live: Live) -> None:
    customer = await live.customer()
    policy = await live.policy(customer["id"])
    claim = (
        await live.call(
            "POST",
            "/claims",
            json={
                "policy_id": policy["id"],
                "claim_type": "water_damage",
                "description": "Fuga",
                "incident_date": "2026-03-01T10:00:00+01:00",
                "claimed_amount": "900.00",
            },
            expect=201,
        )
    ).json()
    await live.call("POST", f"/claims/{claim['id']}/investigate", expect=200)
    supervisor = live.supervisor
    await live.call(
        "POST",
        f"/claims/{claim['id']}/approve",
        json={"amount": "800.00"},
        headers={**supervisor, **once()},
        expect=200,
    )
    key = once()
    answers = await asyncio.gather(
        *(
            live.client.post(f"/claims/{claim['id']}/pay", json={}, headers={**supervisor, **key})
            for _ in range(RACERS)
        )
    )
    assert [r.status_code for r in answers] == [200] * RACERS, [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    paid = await live.conn.scalar(
        text("SELECT count(*) FROM crm.outbox WHERE event_type = 'claim.paid' AND key = :c"),
        {"c": claim["id"]},
    )
    assert paid == 1


async def test_an_idempotency_key_belongs_to_one_request(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    key = once()
    url = f"/policies/{policy['id']}/renew"
    first = await api.call(
        "POST", url, json={"premium_amount": "440.00"}, headers={**api.agent, **key}, expect=200
    )
    reused = await api.call(
        "POST", url, json={"premium_amount": "999.00"}, headers={**api.agent, **key}, expect=422
    )
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"
    # Another caller's identical key is another operation: it is not answered from the first.
    other = api.auth(sub=str(uuid.uuid4()))
    second = await api.call(
        "POST", url, json={"premium_amount": "440.00"}, headers={**other, **key}, expect=200
    )
    assert second.json()["term_number"] == first.json()["term_number"] + 1
    await api.call(
        "POST",
        url,
        json={"premium_amount": "1.00"},
        headers={**api.agent, "Idempotency-Key": "short"},
        expect=422,
    )


async def test_a_merge_repeated_with_its_key_answers_like_the_first(api: Api) -> None:
    survivor = await api.customer()
    duplicate = await api.customer()
    key = once()
    url = f"/customers/{survivor['id']}/merge"
    first = await api.call(
        "POST", url, json={"duplicate_id": duplicate["id"]}, headers={**api.agent, **key}, expect=200
    )
    again = await api.call(
        "POST", url, json={"duplicate_id": duplicate["id"]}, headers={**api.agent, **key}, expect=200
    )
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    fresh = await api.call("POST", url, json={"duplicate_id": duplicate["id"]}, expect=409)
    assert "merged" in fresh.json()["detail"]


async def test_keys_are_forgotten_after_a_day(api: Api) -> None:
    customer = await api.customer()
    policy = await api.policy(customer["id"])
    old, fresh = once(), once()
    url = f"/policies/{policy['id']}/renew"
    for key in (old, fresh):
        await api.call(
            "POST", url, json={"premium_amount": "440.00"}, headers={**api.agent, **key}, expect=200
        )
    await api.conn.execute(
        text("UPDATE crm.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = :k"),
        {"k": old["Idempotency-Key"]},
    )
    session = AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint")
    assert await transitions.forget_old_keys(session) >= 1
    kept = await api.conn.scalars(
        text("SELECT key FROM crm.idempotency_keys WHERE scope LIKE :s"), {"s": f"%{url}"}
    )
    assert set(kept.all()) == {fresh["Idempotency-Key"]}
