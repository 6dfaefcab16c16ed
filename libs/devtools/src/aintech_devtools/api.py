"""One test client for every service: ``ServiceApi`` (call with an expected status, read the outbox,
make a person) over the app in one rolled-back transaction, and ``eventually``.

A service's ``tests/conftest.py`` starts its app once per session and yields a ``ServiceApi`` per
test::

    @pytest.fixture(scope="session")
    async def app(keys: TestKeys) -> AsyncIterator[FastAPI]:
        async with started_app(create_app(), keys) as application:
            yield application

    @pytest.fixture
    async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[ServiceApi]:
        async with service_api(app, keys) as api:
            yield api

and a test reads like what a client does::

    agent = api.person(Role.agent)
    note = (await api.call("POST", "/notes", as_=agent, json={...}, expect=201)).json()
    assert [e["note_id"] for e in await api.events("note.created")] == [note["id"]]

Isolation is one style everywhere (:func:`aintech_devtools.testing.rolled_back`): every session
the app opens joins one transaction rolled back after the test, so requests commit for real
(constraints, triggers, RETURNING) and leave nothing behind. Tests that need real commits on
several connections use :func:`aintech_devtools.testing.committed_database` instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar, overload

import httpx
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys, rolled_back
from aintech_shared.db import Database, schema_metadata
from aintech_shared.events.tables import messaging_tables

T = TypeVar("T")
A = TypeVar("A", bound="ServiceApi")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Person:
    """A signed-in caller: their user id, role and bearer token."""

    user_id: uuid.UUID
    role: Role
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class ServiceApi:
    """An HTTP client on a service's app, the test's (rolled-back) connection, and tokens."""

    app: FastAPI
    client: httpx.AsyncClient
    conn: AsyncConnection
    keys: TestKeys
    schema: str = field(default="")

    def __post_init__(self) -> None:
        if not self.schema:
            db: Database = self.app.state.db
            self.schema = db.schema

    def person(self, role: Role = Role.agent, user_id: uuid.UUID | None = None, **claims: Any) -> Person:
        """A caller with ``role`` (and a fresh user id unless given), signed by the test keys."""
        user_id = user_id or uuid.uuid4()
        return Person(user_id, role, self.keys.token(role=role, sub=str(user_id), **claims))

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        as_: Person | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request (as ``as_`` when given) and assert its status is ``expect``.

        An error answer must also be RFC 9457 problem+json with a ``detail``.
        """
        sent = {**(as_.auth if as_ else {}), **(headers or {})}
        response = await self.client.request(method, path, headers=sent, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: expected {expect}, got {response.status_code}: {response.text}"
        )
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
            assert response.json().get("detail"), response.text
        return response

    async def events(self, event_type: str, key: str | None = None) -> list[dict[str, Any]]:
        """What the service put in its outbox for ``event_type`` (optionally one key), oldest first."""
        outbox = messaging_tables(schema_metadata(self.schema)).outbox
        query = select(outbox.c.payload).where(outbox.c.event_type == event_type)
        if key is not None:
            query = query.where(outbox.c.key == key)
        rows = await self.conn.execute(query.order_by(outbox.c.seq))
        return [dict(r[0]) for r in rows]

    async def row(self, sql: str, **args: Any) -> dict[str, Any] | None:
        """The first row of ``sql`` on the test's connection (sees the test's uncommitted writes)."""
        found = (await self.conn.execute(text(sql), args)).first()
        return dict(found._mapping) if found else None


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 60.0, every: float = 0.05, what: str = "it"
) -> T:
    """Wait for ``check`` to return something truthy, up to ``within`` seconds (no blind sleeps)."""
    deadline = time.monotonic() + within
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: condition not met within {within}s (last: {last!r})")
        await asyncio.sleep(every)


# The issuer and audience the platform's tokens carry (the settings' defaults): a service's tests sign
# with ``platform_keys()`` and its app accepts them.
PLATFORM_ISSUER = "https://auth.aintech.local"
PLATFORM_AUDIENCE = "aintech-api"


def platform_keys() -> TestKeys:
    """Test signing keys for the platform's issuer and audience (a session fixture's value)."""
    return TestKeys(issuer=PLATFORM_ISSUER, audience=PLATFORM_AUDIENCE)


@dataclass
class RoleApi(ServiceApi):
    """A :class:`ServiceApi` whose calls go, unless told otherwise, as one user (``user_id``) with the
    class's ``default_role``; ``auth(role)`` is that user's header with another role."""

    default_role: ClassVar[Role] = Role.agent
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def auth(self, role: Role | None = None) -> dict[str, str]:
        token = self.keys.token(role=role or self.default_role, sub=self.user_id)
        return {"Authorization": f"Bearer {token}"}

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        as_: Person | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        if as_ is None and headers is None:
            headers = self.auth()
        return await super().call(method, path, expect=expect, as_=as_, headers=headers, **kwargs)


@asynccontextmanager
async def started_app(app: FastAPI, keys: TestKeys) -> AsyncIterator[FastAPI]:
    """``app`` through its lifespan, verifying tokens with the test keys instead of the JWKS."""
    app.state.token_verifier = keys.verifier()
    async with app.router.lifespan_context(app):
        yield app


@overload
def service_api(
    app: FastAPI, keys: TestKeys, *, base_url: str = ...
) -> AbstractAsyncContextManager[ServiceApi]: ...


@overload
def service_api(
    app: FastAPI, keys: TestKeys, *, factory: Callable[..., A], base_url: str = ..., **extra: Any
) -> AbstractAsyncContextManager[A]: ...


def service_api(
    app: FastAPI,
    keys: TestKeys,
    *,
    factory: Callable[..., Any] = ServiceApi,
    base_url: str = "http://service.test",
    **extra: Any,
) -> AbstractAsyncContextManager[Any]:
    """A :class:`ServiceApi` (or a service's subclass of it, ``factory``, given the ``extra``
    fields) for one test, in one rolled-back transaction."""
    return _service_api(app, keys, factory=factory, base_url=base_url, extra=extra)


@asynccontextmanager
async def _service_api(
    app: FastAPI, keys: TestKeys, *, factory: Callable[..., Any], base_url: str, extra: dict[str, Any]
) -> AsyncIterator[Any]:
    async with (
        rolled_back(app.state.db) as conn,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url) as client,
    ):
        yield factory(app=app, client=client, conn=conn, keys=keys, **extra)
