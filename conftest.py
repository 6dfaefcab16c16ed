"""Fleet-wide pytest fixtures: the real Postgres and Kafka that `make test` starts.

`make test` (deploy/local/stack.py test) starts both, provisions every schema and role, runs
every service's migrations and exports AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP.
"""

from __future__ import annotations

import os

import pytest


def _require(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(
            f"{name} is not set: run the suite with `make test`, which starts Postgres and Kafka.",
            returncode=4,
        )
    return value


@pytest.fixture(scope="session")
def admin_database_url() -> str:
    return _require("AINTECH_DATABASE_URL")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    return _require("AINTECH_KAFKA_BOOTSTRAP")
