"""Fixtures: omnichannel on real Postgres with real commits, fake Twilio and SendGrid on loopback
driven through the official SDKs, and tokens signed by a test key the app trusts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.events.crm import CustomerCreated
from aintech_contracts.rbac import Role
from aintech_contracts.statuses import CustomerSegment, CustomerStatus
from aintech_devtools.testing import TestKeys
from aintech_shared.db import Database
from omnichannel.app import create_app
from omnichannel.contacts import service as contacts
from omnichannel.delivery.dispatcher import Dispatcher
from omnichannel.providers.factory import Providers, build_providers
from omnichannel.settings import Settings

from .fakes import (
    SENDGRID_KEY,
    TWILIO_SID,
    TWILIO_TOKEN,
    FakeSendGrid,
    FakeTwilio,
    SendGridSigner,
    ThreadedServer,
    twilio_signature,
)

BASE = "http://omni.test"
DOMAIN_TABLES = (
    "sealed_contents, attachments, messages, conversation_notes, conversations, agents, notifications, "
    "notification_preferences, campaign_recipients, campaigns, contacts, platform_users, opt_outs, "
    "provider_events, rate_counters, renewal_confirmations, console_deliveries, parked_deliveries, "
    "crm_email_requests, whatsapp_templates, slack_posts, outbox"
)


@pytest.fixture(scope="session")
def twilio() -> Iterator[FakeTwilio]:
    fake = FakeTwilio()
    server = ThreadedServer(fake.app())
    server.start()
    fake.url = server.url  # type: ignore[attr-defined]
    yield fake
    server.stop()


@pytest.fixture(scope="session")
def sendgrid() -> Iterator[FakeSendGrid]:
    fake = FakeSendGrid()
    server = ThreadedServer(fake.app())
    server.start()
    fake.url = server.url  # type: ignore[attr-defined]
    yield fake
    server.stop()


@pytest.fixture(scope="session")
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer="https://auth.aintech.local", audience="aintech-api")


def make_settings(
    twilio: FakeTwilio, sendgrid: FakeSendGrid, signer: SendGridSigner, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": TWILIO_SID,
        "twilio_auth_token": TWILIO_TOKEN,
        "twilio_api_base_url": twilio.url,  # type: ignore[attr-defined]
        "sendgrid_api_key": SENDGRID_KEY,
        "sendgrid_api_host": sendgrid.url,  # type: ignore[attr-defined]
        "sendgrid_webhook_public_key": signer.public_key,
        "public_base_url": None,
        "chat_heartbeat_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(
    admin_database_url: str,
    kafka_bootstrap: str,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    signer: SendGridSigner,
) -> Settings:
    return make_settings(twilio, sendgrid, signer)


def build_app(settings: Settings, keys: TestKeys) -> FastAPI:
    application = create_app(settings)
    application.state.token_verifier = keys.verifier()
    return application


@pytest.fixture(scope="session")
async def app(settings: Settings, keys: TestKeys) -> AsyncIterator[FastAPI]:
    application = build_app(settings, keys)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[Database]:
    """The app's database, emptied of omnichannel's data first (tests commit for real)."""
    database: Database = app.state.db
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {DOMAIN_TABLES}"))
    yield database


@pytest.fixture
async def providers(app: FastAPI, settings: Settings, db: Database) -> AsyncIterator[Providers]:
    built = build_providers(settings, db)
    yield built
    await built.close()


@pytest.fixture
def dispatcher(db: Database, settings: Settings, providers: Providers) -> Dispatcher:
    return Dispatcher(db, settings, providers)


@dataclass
class Person:
    user_id: uuid.UUID
    role: Role
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Api:
    client: httpx.AsyncClient
    db: Database
    keys: TestKeys
    twilio: FakeTwilio
    sendgrid: FakeSendGrid
    signer: SendGridSigner

    def person(self, role: Role = Role.agent, user_id: uuid.UUID | None = None) -> Person:
        uid = user_id or uuid.uuid4()
        return Person(
            uid,
            role,
            self.keys.token(role=role, sub=str(uid), email=f"{role.value}-{uid.hex[:6]}@aintech.test"),
        )

    async def customer(
        self,
        *,
        mobile: str | None = None,
        email: str | None = None,
        user_id: uuid.UUID | None = None,
        preferred_channel: str | None = None,
        language: str = "es",
        segment: str | None = None,
        first_name: str = "Lucía",
    ) -> uuid.UUID:
        """A CRM customer as the ``customer.created`` consumer stores it."""
        customer_id = uuid.uuid4()
        # Campaign tests keep apart with segment names of their own, outside the CRM's vocabulary:
        # such a customer is built without validation (the read model stores the segment as given).
        build: Callable[..., CustomerCreated] = (
            CustomerCreated
            if segment is None or segment in set(CustomerSegment)
            else CustomerCreated.model_construct
        )
        async with self.db.transaction() as session:
            await contacts.apply_customer(
                session,
                event=build(
                    customer_id=customer_id,
                    customer_type="individual",
                    first_name=first_name,
                    last_name="Martín",
                    email=email,
                    mobile=mobile,
                    preferred_channel=preferred_channel,
                    preferred_language=language,
                    segment=segment,
                    status=CustomerStatus.active,
                    user_id=user_id,
                ),
            )
        return customer_id

    async def twilio_webhook(
        self, path: str, params: dict[str, str], *, token: str = TWILIO_TOKEN
    ) -> httpx.Response:
        url = BASE + path
        headers = {"X-Twilio-Signature": twilio_signature(url, params, token)}
        return await self.client.post(path, data=params, headers=headers)

    async def inbound(
        self, sender: str, body: str, *, sid: str | None = None, **extra: str
    ) -> httpx.Response:
        params = {
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "AccountSid": TWILIO_SID,
            "From": sender,
            "To": "whatsapp:+14155238886" if sender.startswith("whatsapp:") else "+34900000000",
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        return await self.twilio_webhook("/webhooks/twilio/messaging", params)

    async def open_whatsapp_window(self, number: str) -> None:
        """The customer writes first: WhatsApp free text may go to them for 24 hours."""
        answer = await self.inbound("whatsapp:" + number, "Hola")
        assert answer.status_code == 200, answer.text

    async def execute(self, statement: str, **params: Any) -> None:
        async with self.db.engine.begin() as conn:
            await conn.execute(text(statement), params)

    async def sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(text(query), params)
            return [dict(r._mapping) for r in rows]


@pytest.fixture
async def api(
    app: FastAPI,
    db: Database,
    keys: TestKeys,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    signer: SendGridSigner,
) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        yield Api(client=client, db=db, keys=keys, twilio=twilio, sendgrid=sendgrid, signer=signer)


@pytest.fixture
def replicas(settings: Settings, keys: TestKeys, db: Database) -> Iterator[list[str]]:
    """Two more omnichannel API processes' worth (uvicorn servers with their own LISTEN hubs)."""
    servers = [ThreadedServer(build_app(settings, keys), lifespan="on") for _ in range(2)]
    for server in servers:
        server.start()
    yield [server.url for server in servers]
    for server in servers:
        server.stop()
