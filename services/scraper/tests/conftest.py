"""Fixtures: scraper's app on the real Postgres and Kafka of `make test` (one rolled-back transaction
per test), and a throw-away database where several workers commit for real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from aintech_devtools.api import ServiceApi, service_api, started_app
from aintech_devtools.testing import CommittedDatabase, TestKeys, committed_database
from aintech_shared.db import Database
from scraper.app import create_app
from scraper.settings import Settings

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"
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
        yield Settings(AINTECH_DATABASE_URL=live_database.url)
    finally:
        await live_database.clear()


def worker_database(settings: Settings) -> Database:
    """One worker's own connection pool, as a separate worker process would have."""
    return Database(settings.service_database_url, schema=settings.db_schema, pool_size=2)
