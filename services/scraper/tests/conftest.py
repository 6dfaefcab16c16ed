"""Fixtures: scraper's app on the real Postgres and Kafka of `make test` (one rolled-back transaction
per test), and a throw-away database where several workers commit for real."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

from aintech_devtools.api import ServiceApi, service_api, started_app
from aintech_devtools.testing import CommittedDatabase, TestKeys, committed_database, uvicorn_serving
from aintech_shared.db import Database
from scraper.app import create_app
from scraper.carriers import service as carriers
from scraper.core.runtime import build_runtime
from scraper.demo.portal import PASSWORD, USERNAME, PortalState, build_portal, demo_portfolio
from scraper.runner import Runner
from scraper.scrape_jobs import service as jobs_service
from scraper.settings import Settings

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
# Failure artifacts go to a directory of the test run, never to the developer's .local/objects.
OBJECTS = tempfile.TemporaryDirectory(prefix="scraper-objects-")
os.environ["AINTECH_OBJECT_STORE_ROOT"] = OBJECTS.name  # the API app's store too
RISK = {"plate": "1234BCD", "postal_code": "28001", "driver_birth_date": "1985-04-02"}


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    settings = Settings()
    return TestKeys(issuer=settings.jwt_issuer, audience=settings.jwt_audience)


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    async with started_app(create_app(), keys) as application:
        yield application


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[ServiceApi]:
    async with service_api(app, keys, base_url="http://scraper.test") as client:
        yield client


@pytest.fixture(scope="session")
async def live_database(admin_database_url: str) -> AsyncIterator[CommittedDatabase]:
    async with committed_database(admin_database_url, service="scraper", alembic_ini=ALEMBIC_INI) as database:
        yield database


@pytest.fixture
async def live_settings(live_database: CommittedDatabase) -> AsyncIterator[Settings]:
    """Settings pointing at the committed database (cleared after each test)."""
    try:
        yield Settings(AINTECH_DATABASE_URL=live_database.url, AINTECH_OBJECT_STORE_ROOT=OBJECTS.name)
    finally:
        await live_database.clear()


def worker_database(settings: Settings) -> Database:
    """One worker's own connection pool, as a separate worker process would have."""
    return Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)


@pytest.fixture(scope="session")
async def portal() -> AsyncIterator[Portal]:
    """The carrier portals (Mapfre, Allianz, AXA) served on 127.0.0.1 for the whole session."""
    state = PortalState()
    server = uvicorn.Server(
        uvicorn.Config(
            build_portal(state), host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off"
        )
    )
    async with uvicorn_serving(server) as port:
        yield Portal(state=state, base=f"http://127.0.0.1:{port}")


@dataclass
class Portal:
    state: PortalState
    base: str

    def reset(self) -> None:
        self.state.modes = dict.fromkeys(self.state.modes, "ok")
        self.state.password = PASSWORD
        self.state.hits.clear()
        self.state.documents.clear()
        self.state.portfolio = demo_portfolio()


@pytest.fixture
async def scraping(live_settings: Settings, portal: Portal) -> AsyncIterator[Scraping]:
    """A worker on the committed database, with the portal's accounts set, scraping the fake portals."""
    portal.reset()
    settings = live_settings.model_copy(update={"allowed_hosts": ["127.0.0.1"], "page_timeout_seconds": 15})
    db = worker_database(settings)
    async with db.transaction() as session:
        for carrier in ("mapfre", "allianz", "axa"):
            await carriers.set_account(
                session,
                settings=settings,
                carrier=carrier,
                base_url=f"{portal.base}/{carrier}",
                username=USERNAME,
                password=PASSWORD,
            )
    rt = build_runtime(settings)
    try:
        yield Scraping(
            settings=settings,
            db=db,
            portal=portal,
            runner=Runner(db, settings, rt.outbox, name="test-worker"),
        )
    finally:
        await db.dispose()


@dataclass
class Scraping:
    settings: Settings
    db: Database
    portal: Portal
    runner: Runner

    async def queue(self, carrier: str, kind: str = "prices", **params: Any) -> uuid.UUID:
        async with self.db.transaction() as session:
            await session.execute(text("UPDATE scraper.carrier_limits SET min_interval_ms = 0"))
            job = await jobs_service.create_job(
                session,
                settings=self.settings,
                kind=kind,
                carrier=carrier,
                params=params or ({"risk": RISK} if kind == "prices" else {}),
                requested_by=None,
            )
            await session.execute(text("UPDATE scraper.carrier_limits SET min_interval_ms = 0"))
            return job.id

    async def job(self, job_id: uuid.UUID) -> Any:
        async with self.db.transaction() as session:
            return await jobs_service.get_job(session, job_id=job_id)

    async def artifacts(self, job_id: uuid.UUID) -> list[dict[str, Any]]:
        """The job's artifact rows (by kind), each with its object's bytes from the object store."""
        rows = await self.rows(
            "SELECT kind, object_key, sha256, size, stored_at FROM scraper.artifacts WHERE job_id = :j "
            "ORDER BY kind",
            j=job_id,
        )
        store = self.runner.objects
        for row in rows:
            row["content"] = b"".join([chunk async for chunk in store.read(row["object_key"])])
        return rows

    async def rows(self, sql: str, **args: Any) -> list[dict[str, Any]]:
        async with self.db.transaction() as session:
            return [dict(r._mapping) for r in await session.execute(text(sql), args)]
