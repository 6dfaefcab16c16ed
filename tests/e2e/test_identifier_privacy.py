"""A customer's DNI and IBAN stay out of Kafka: an attacker who reads every record of the customer
topic (and of every other topic of the catalogue) finds neither, in any form; the CRM's API still
shows them to staff, and ai-fraud still links two customers sharing a bank account, from the digests
alone."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from stdnum import iban as iban_number
from stdnum.es import ccc
from stdnum.es import dni as dni_number

from aintech_contracts.events import TOPICS
from aintech_devtools.testing import find_event

SEED_PASSWORD = "Aintech-Demo-2026!"


def _token(gw: httpx.Client, email: str) -> dict[str, str]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def _ok(resp: httpx.Response, status: int = 200) -> Any:
    assert resp.status_code == status, (
        f"{resp.request.method} {resp.request.url} -> {resp.status_code}: {resp.text}"
    )
    return resp.json() if resp.content else None


def _until(what: str, probe: Callable[[], Any], within: float = 120) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def _fresh_dni() -> str:
    number = f"{secrets.randbelow(10**8):08d}"
    return number + dni_number.calc_check_digit(number)


def _fresh_iban() -> str:
    account = f"{secrets.randbelow(10**10):010d}"
    bban = "21000418" + ccc.calc_check_digits("21000418" + "00" + account) + account
    return "ES" + iban_number.calc_check_digits("ES00" + bban) + bban


def _spaced(value: str) -> str:
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


def _customer(gw: httpx.Client, agent: dict[str, str], **fields: Any) -> Any:
    body = {
        "first_name": "Maite",
        "last_name": "Goikoetxea",
        "email": f"p-{uuid.uuid4().hex[:10]}@example.com",
        "postal_code": "20001",
        **fields,
    }
    return _ok(gw.post("/api/crm/customers", headers=agent, json=body), 201)


async def _every_record(bootstrap: str) -> tuple[list[str], list[bytes]]:
    """The catalogue's topics on the broker (dead-letter topics included) and every record on them
    up to their end (key, header values and value), as anyone with read access sees them."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"attacker-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[bytes] = []

    async def take(timeout_ms: int) -> None:
        batch = await consumer.getmany(timeout_ms=timeout_ms)
        for records in batch.values():
            for record in records:
                headers = b"".join(v or b"" for _, v in record.headers or [])
                out.append((record.key or b"") + headers + (record.value or b""))

    try:
        topics = sorted(t for t in await consumer.topics() if t.removesuffix(".dlq") in TOPICS)
        consumer.subscribe(topics)
        deadline = time.monotonic() + 120
        while not consumer.assignment():
            assert time.monotonic() < deadline, "the attacker's consumer got no partitions"
            await take(250)
        partitions = sorted(consumer.assignment())
        assert {tp.topic for tp in partitions} == set(topics), "every topic is read"
        ends = await consumer.end_offsets(partitions)

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in partitions])

        while await behind():
            assert time.monotonic() < deadline, "could not read the topics to their end"
            await take(500)
        return topics, out
    finally:
        await consumer.stop()


def test_an_attacker_reading_the_customer_topic_finds_no_dni_or_iban(
    gw: httpx.Client, kafka_bootstrap: str
) -> None:
    agent = _token(gw, "agent1@aintech.com")
    dni, iban, next_iban = _fresh_dni(), _fresh_iban(), _fresh_iban()
    customer = _customer(gw, agent, dni=dni.lower(), iban=_spaced(iban))
    assert (customer["dni"], customer["iban"]) == (dni, iban), "staff still read the values from the CRM"
    url = f"/api/crm/customers/{customer['id']}"
    etag = gw.get(url, headers=agent).headers["etag"]
    _ok(gw.patch(url, headers={**agent, "If-Match": etag}, json={"iban": next_iban}))

    def relayed(event_type: str) -> Any:
        found = asyncio.run(
            find_event(
                kafka_bootstrap,
                "crm.customer",
                lambda e: e.type == event_type and e.subject == customer["id"],
            )
        )
        assert found is not None, f"{event_type} never reached Kafka through the fleet's relay"
        return found[0].data

    created, updated = relayed("customer.created"), relayed("customer.updated")
    assert created["iban_last4"] == iban[-4:] and created["dni_last3"] == dni[-3:]
    assert len(created["iban_digest"]) == 64 and updated["iban_digest"] not in (None, created["iban_digest"])

    topics, records = asyncio.run(_every_record(kafka_bootstrap))
    assert "crm.customer" in topics and records, "the attacker read nothing"
    forms = set()
    for value in (dni, iban, next_iban):
        forms |= {value, value.lower(), _spaced(value), _spaced(value).lower()}
    forms |= {value[4:] for value in (iban, next_iban)}  # the Spanish account number (CCC)
    for record in records:
        for form in forms:
            assert form.encode() not in record, f"{form!r} is readable on Kafka"


def _policy_and_claim(gw: httpx.Client, agent: dict[str, str], customer_id: str, day: int) -> Any:
    today = datetime.now(UTC).date()
    policy = _ok(
        gw.post(
            "/api/crm/policies",
            headers=agent,
            json={
                "customer_id": customer_id,
                "policy_type": "home",
                "carrier": "Mapfre",
                "coverage_start_date": str(today - timedelta(days=20)),
                "coverage_end_date": str(today + timedelta(days=345)),
                "premium_amount": "300.00",
                "premium_frequency": "annual",
                "coverage_amount": "90000.00",
                "details": {"property_address": f"Calle Urbieta {day}", "property_type": "apartment"},
            },
        ),
        201,
    )
    incident = (datetime.now(UTC) - timedelta(days=day)).replace(hour=12, minute=0, second=0, microsecond=0)
    return _ok(
        gw.post(
            "/api/crm/claims",
            headers=agent,
            json={
                "policy_id": policy["id"],
                "claim_type": "water_damage",
                "description": "Fuga en el baño",
                "incident_date": incident.isoformat(),
                "claimed_amount": "800.00",
                "metadata": {"police_report": True, "witnesses": 1},
            },
        ),
        201,
    )


def test_two_customers_sharing_an_iban_are_a_ring_from_the_digests(gw: httpx.Client) -> None:
    agent = _token(gw, "agent1@aintech.com")
    supervisor = _token(gw, "supervisor1@aintech.com")
    shared = _fresh_iban()
    first = _customer(gw, agent, iban=shared)
    second = _customer(gw, agent, iban=_spaced(shared).lower())
    _policy_and_claim(gw, agent, first["id"], day=3)
    claim = _policy_and_claim(gw, agent, second["id"], day=2)

    # Customers, policies and claims travel on different topics: the claim is analysed again until
    # ai-fraud's read model holds both customers' digests.
    def ring() -> Any:
        resp = gw.post(
            "/api/fraud/analyze", headers=supervisor, json={"claim_id": claim["id"], "language": "en"}
        )
        return resp.json() if resp.status_code == 200 and resp.json().get("ring_id") else None

    scored = _until("the ring of the shared IBAN", ring)
    shown = _ok(gw.get(f"/api/fraud/rings/{scored['ring_id']}", headers=supervisor))
    assert {first["id"], second["id"]} <= set(shown["customer_ids"])
    [link] = [link for link in shown["links"] if link["kind"] == "iban"]
    assert link["value"] == "••••" + shared[-4:]
    assert shared not in str(shown) and shared[4:] not in str(shown)
