"""Fixtures: the quote engine on real Postgres (one rolled-back transaction per test), the
illustrative tariffs loaded inside that transaction, test signing keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Role
from aintech_devtools.api import RoleApi, platform_keys, service_api, started_app
from aintech_devtools.testing import TestKeys
from quote_engine.app import create_app
from quote_engine.seed import seed_tariffs
from quote_engine.settings import Settings


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return platform_keys()


@pytest.fixture(scope="session")
async def app(admin_database_url: str, kafka_bootstrap: str, keys: TestKeys) -> AsyncIterator[FastAPI]:
    async with started_app(create_app(Settings()), keys) as application:
        yield application


@dataclass
class Api(RoleApi):
    """Calls go as one agent unless told otherwise."""

    @property
    def admin(self) -> dict[str, str]:
        return self.auth(Role.admin)


@pytest.fixture
async def api(app: FastAPI, keys: TestKeys) -> AsyncIterator[Api]:
    async with service_api(app, keys, factory=Api, base_url="http://quotes.test") as api:
        async with AsyncSession(bind=api.conn, join_transaction_mode="create_savepoint") as session:
            await seed_tariffs(session, rt=app.state.runtime)
            await session.commit()  # releases the savepoint; the test transaction still rolls back
        yield api


# A 35-year-old driver in Valencia: the auto risk most API tests price.
AUTO_RISK: dict[str, Any] = {
    "line": "auto",
    "postal_code": "46010",
    "driver_age": 35,
    "years_licensed": 12,
    "no_claims_years": 8,
    "vehicle_power_hp": 120,
    "vehicle_age": 4,
    "km_per_year": 15000,
}

SUMMARY_TAX = ("code", "base", "amount")


def summary(offer: dict[str, Any]) -> dict[str, Any]:
    """An explained offer as a comparison's summary gives it: no lines, each tax's code, base, amount."""
    out = {k: v for k, v in offer.items() if k != "lines"}
    out["taxes"] = [{k: t[k] for k in SUMMARY_TAX} for t in offer["taxes"]]
    return out
