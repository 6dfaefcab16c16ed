"""No personal data in the store: a customer's DNI, IBAN, e-mail, phone, name and address, and a
message's sender and text, are found in no table after ingest (ingest.privacy), while the facts
and the sentiment score those events feed are still there."""

from __future__ import annotations

import uuid
from datetime import date

import orjson

from aintech_contracts.events.crm import CustomerCreated
from aintech_contracts.events.omnichannel import MessageReceived
from analytics.ingest.privacy import scrub
from analytics.ingest.writer import write_events
from analytics.store.port import Store

from .history import History, at

DAY = date(2026, 3, 10)

DNI = "48291734K"
IBAN = "ES7921000813610123456789"
EMAIL = "zuriñe.etxeberria@correo.example"
PHONE = "+34611987654"
MOBILE = "+34699123456"
FIRST, LAST = "Zuriñe", "Etxeberria"
STREET = "Calle de la Pasionaria 17"
POSTAL = "48011"
# the shape with digests instead of the values: the digests must not be stored either
DNI_DIGEST = "dnidigest0f3a9c2b7e"
IBAN_DIGEST = "ibandigest5d1e8b4a60"
SENDER = "+34655000111"
TEXT = "Mi vecino Ander Goikoetxea vio el golpe"


def _events() -> tuple[History, uuid.UUID, uuid.UUID]:
    h = History()
    customer = uuid.uuid4()
    created = h.add(
        CustomerCreated(
            customer_id=customer,
            customer_type="individual",
            first_name=FIRST,
            last_name=LAST,
            email=EMAIL,
            phone=PHONE,
            mobile=MOBILE,
            status="active",
            province="Bizkaia",
            segment="premium",
            address_line1=STREET,
            postal_code=POSTAL,
            city="Bilbao",
        ),
        at(DAY),
        key=str(customer),
    )
    # both shapes of a customer event: the digests it carries now, the clear values an event
    # published before them carried (still in Kafka's retention)
    created.data.update({"dni": DNI, "iban": IBAN, "dni_digest": DNI_DIGEST, "iban_digest": IBAN_DIGEST})
    message = uuid.uuid4()
    h.add(
        MessageReceived(
            message_id=message,
            conversation_id=uuid.uuid4(),
            channel="whatsapp",
            customer_id=customer,
            from_address=SENDER,
            preview=TEXT,
            received_at=at(DAY),
            sentiment_score=-0.5,
            sentiment_label="negative",
        ),
        at(DAY),
        key=str(message),
    )
    return h, customer, message


async def _every_table(store: Store) -> dict[str, str]:
    """Each table of the store's database with all its rows as one text (views write into these)."""
    names = await store.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND engine NOT LIKE '%View'",
        {"db": store.database},
    )
    assert names, "the store has tables"
    out = {}
    for row in names:
        rows = await store.query(f"SELECT * FROM $db.`{row['name']}`")  # noqa: S608 - names from system.tables
        out[str(row["name"])] = orjson.dumps(rows, default=str).decode().lower()
    return out


async def test_a_customers_dni_iban_email_and_phone_are_in_no_table(store: Store) -> None:
    h, _, _ = _events()
    assert await write_events(store, h.events) == 2
    tables = await _every_table(store)
    assert "raw_events" in tables and "customers" in tables
    personal = (DNI, IBAN, EMAIL, PHONE, MOBILE, FIRST, LAST, STREET, DNI_DIGEST, IBAN_DIGEST, SENDER, TEXT)
    for needle in personal:
        # JSON text escapes non-ASCII letters: search both spellings
        spellings = {needle.lower(), orjson.dumps(needle.lower()).decode().strip('"')}
        found = [name for name, text in tables.items() if any(s in text for s in spellings)]
        assert not found, f"{needle!r} is stored in {found}"


async def test_the_facts_and_the_sentiment_score_are_kept(store: Store) -> None:
    h, customer, message = _events()
    await write_events(store, h.events)
    customers = await store.query(
        "SELECT province, segment, status FROM $db.customers FINAL WHERE customer_id = {c:String}",
        {"c": str(customer)},
    )
    assert customers == [{"province": "Bizkaia", "segment": "premium", "status": "active"}]
    scores = await store.query(
        "SELECT score, label FROM $db.message_sentiment FINAL WHERE message_id = {m:String}",
        {"m": str(message)},
    )
    assert scores == [{"score": -0.5, "label": "negative"}]
    raw = await store.query(
        "SELECT data FROM $db.raw_events WHERE type = 'customer.created' AND subject = {c:String}",
        {"c": str(customer)},
    )
    kept = orjson.loads(raw[0]["data"])
    assert kept["customer_id"] == str(customer)
    assert kept["province"] == "Bizkaia" and kept["status"] == "active"


def test_scrub_drops_personal_fields_at_any_depth_and_keeps_the_rest() -> None:
    data = {
        "policy_number": "POL-1",
        "claim_number": "CLM-1",
        "carrier_name": "Mapfre",
        "customer": {"email": EMAIL, "segment": "retail", "contacts": [{"mobile": MOBILE, "role": "owner"}]},
        "attributes": {"witness": "Ander Goikoetxea"},
        "new_email": EMAIL,
        "customer_phone": PHONE,
    }
    assert scrub(data) == {
        "policy_number": "POL-1",
        "claim_number": "CLM-1",
        "carrier_name": "Mapfre",
        "customer": {"segment": "retail", "contacts": [{"role": "owner"}]},
    }
    assert data["new_email"] == EMAIL  # the event itself is unchanged
