"""Fixtures: telephony on real Postgres, the official Twilio SDK against a fake Twilio on 127.0.0.1,
and webhooks signed like Twilio's."""

from __future__ import annotations

import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_contracts.envelope import CloudEvent
from aintech_contracts.events import EventData
from aintech_contracts.rbac import Role
from aintech_devtools.api import Person, ServiceApi, service_api
from aintech_devtools.testing import TestKeys
from aintech_shared.db import Database
from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature
from telephony.app import create_app
from telephony.calls.models import Call
from telephony.consumers import CRM_READ_MODEL
from telephony.customers.models import Customer
from telephony.settings import Settings

from .fake_twilio import FakeTwilio

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
API_KEY_SID = "SK" + "b2" * 16
API_KEY_SECRET = "test-api-key-secret-0123456789"
TWIML_APP_SID = "AP" + "c3" * 16
PUBLIC_HOST = "voice.aintech.test"
PUBLIC_BASE = f"https://{PUBLIC_HOST}"
OUR_NUMBER = "+34910000000"
ALWAYS_OPEN: dict[str, Any] = {
    "office_days": [0, 1, 2, 3, 4, 5, 6],
    "office_opens": time(0, 0),
    "office_closes": time(23, 59, 59),
}


# Recordings kept by the platform during the tests (the local object store backend).
OBJECTS = Path(tempfile.mkdtemp(prefix="telephony-objects-"))


def make_settings(fake: FakeTwilio, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_api_key_sid": API_KEY_SID,
        "twilio_api_key_secret": API_KEY_SECRET,
        "twilio_twiml_app_sid": TWIML_APP_SID,
        "twilio_phone_number": OUR_NUMBER,
        "twilio_api_base_url": fake.url,
        "public_webhook_base_url": PUBLIC_BASE,
        "outbound_calls_per_window": 3,
        "access_token_ttl_seconds": 600,
        "signalling_recheck_seconds": 0.2,
        "AINTECH_OBJECT_STORE_ROOT": str(OBJECTS),
        **ALWAYS_OPEN,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    settings = Settings()
    return TestKeys(issuer=settings.jwt_issuer, audience=settings.jwt_audience)


@pytest.fixture(scope="session")
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio(account_sid=ACCOUNT_SID)
    await fake.start()
    yield fake
    await fake.stop()


async def started_app(settings: Settings, keys: TestKeys, **kwargs: Any) -> tuple[FastAPI, Any]:
    app = create_app(settings, **kwargs)
    app.state.token_verifier = keys.verifier()
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


@pytest.fixture(scope="session")
async def app(
    admin_database_url: str, kafka_bootstrap: str, keys: TestKeys, fake_twilio: FakeTwilio
) -> AsyncIterator[FastAPI]:
    application, lifespan = await started_app(make_settings(fake_twilio), keys)
    yield application
    await lifespan.__aexit__(None, None, None)


BUSINESS_TABLES = (
    "telephony.signalling_presence, telephony.call_queue, telephony.calls, telephony.agent_status, "
    "telephony.agent_status_changes, telephony.webhook_receipts"
)


@pytest.fixture
async def committed(app: FastAPI) -> AsyncIterator[Database]:
    """Real commits on several connections: the tables are emptied before and after."""
    db: Database = app.state.db
    async with db.transaction() as session:
        await session.execute(text(f"TRUNCATE {BUSINESS_TABLES}"))
    yield db
    async with db.transaction() as session:
        await session.execute(text(f"TRUNCATE {BUSINESS_TABLES}"))
        await session.execute(text("DELETE FROM telephony.outbox"))
        await session.execute(text("DELETE FROM telephony.scheduled_jobs WHERE name LIKE 'test.%'"))


def twiml(document: str) -> ET.Element:
    """Parse a TwiML answer (it must be well-formed XML with a <Response> root)."""
    root = ET.fromstring(document)  # noqa: S314 - our own service's answer
    assert root.tag == "Response", document
    return root


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@dataclass
class Api(ServiceApi):
    """The fleet's ServiceApi plus Twilio's side: signed webhooks and the fake Twilio."""

    fake: FakeTwilio = field(kw_only=True)
    token: str = AUTH_TOKEN

    async def available_agent(self, user_id: uuid.UUID | None = None) -> Person:
        agent = self.person(Role.agent, user_id)
        response = await self.client.post("/agents/status", json={"status": "available"}, headers=agent.auth)
        assert response.status_code == 200, response.text
        return agent

    async def webhook(
        self,
        path: str,
        params: dict[str, str],
        *,
        query: dict[str, str] | None = None,
        signature: str | None = None,
        host: str = PUBLIC_HOST,
    ) -> httpx.Response:
        """POST a webhook the way Twilio does through the gateway: signed for the public URL."""
        target = f"/webhooks/twilio/voice/{path}"
        if query:
            target += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        public = f"https://{host}{target}"
        headers = {
            TWILIO_SIGNATURE: signature
            if signature is not None
            else twilio_signature(self.token, public, params),
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": host,
        }
        return await self.client.post(target, data=params, headers=headers)

    async def webhook_url(self, url: str, params: dict[str, str]) -> httpx.Response:
        """POST to a URL we handed to Twilio (absolute, public), signed for exactly that URL."""
        parts = urlsplit(url)
        assert parts.netloc == PUBLIC_HOST, url
        path = parts.path.removeprefix("/webhooks/twilio/voice/")
        return await self.webhook(path, params, query=query_of(url) if parts.query else None)

    async def crm_event(self, payload: EventData) -> None:
        """Feed the read model through the worker's own handlers, as the consumer would."""
        event = CloudEvent.wrap(payload, type_=payload.event_type, source="core-crm", subject=None)
        db: Database = self.app.state.db
        async with db.sessionmaker() as session, session.begin():
            batch = CRM_READ_MODEL.batch_handlers.get(event.type)
            if batch is not None:
                await batch(session, [event])
            else:
                await CRM_READ_MODEL.handlers[event.type](session, event)

    async def session(self) -> AsyncSession:
        db: Database = self.app.state.db
        return db.sessionmaker()


def inbound_params(call_sid: str, caller: str, status: str = "ringing") -> dict[str, str]:
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": caller,
        "To": OUR_NUMBER,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
    }


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys, fake_twilio: FakeTwilio) -> AsyncIterator[Api]:
    fake_twilio.requests.clear()
    async with service_api(
        app, keys, factory=Api, base_url="http://telephony.internal", fake=fake_twilio
    ) as api:
        await hide_committed_rows(api.conn)
        yield api


async def hide_committed_rows(conn: AsyncConnection) -> None:
    """Start from empty tables inside the test's transaction (rolled back with it), so rows another
    suite committed (the e2e fleet, an earlier run) cannot take part in routing or event checks."""
    for table in (
        *BUSINESS_TABLES.split(", "),
        "telephony.customers",
        "telephony.open_claims",
        "telephony.outbox",
    ):
        await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - fixed table names


@pytest.fixture
async def live_call(app: FastAPI) -> AsyncIterator[dict[str, uuid.UUID]]:
    """A committed, connected call between an agent and a customer who has an account."""
    db: Database = app.state.db
    ids = {"call": uuid.uuid4(), "agent": uuid.uuid4(), "customer": uuid.uuid4(), "user": uuid.uuid4()}
    async with db.transaction() as session:
        session.add(
            Customer(
                customer_id=ids["customer"],
                first_name="Lucía",
                last_name="Martín",
                status="active",
                user_id=ids["user"],
                preferred_language="es",
                version=0,
            )
        )
        session.add(
            Call(
                id=ids["call"],
                call_sid=new_call_sid(),
                direction="inbound",
                customer_id=ids["customer"],
                customer_phone="+34612000999",
                our_number=OUR_NUMBER,
                agent_id=ids["agent"],
                status="in-progress",
                answered_at=datetime.now(UTC),
                metadata_={},
            )
        )
    yield ids
    async with db.transaction() as session:
        await session.execute(text("DELETE FROM telephony.calls WHERE id = :i"), {"i": ids["call"]})
        await session.execute(
            text("DELETE FROM telephony.customers WHERE customer_id = :c"), {"c": ids["customer"]}
        )
        await session.execute(
            text("DELETE FROM telephony.outbox WHERE key IN (:k, '+34612000999')"), {"k": str(ids["call"])}
        )
