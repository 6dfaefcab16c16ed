"""Fleet-wide pytest fixtures: the real Postgres and Kafka that `make test` starts.

`make test` (deploy/local/stack.py test) starts both, provisions every schema and role, runs
every service's migrations and exports AINTECH_DATABASE_URL / AINTECH_KAFKA_BOOTSTRAP.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

_CHDB_DIR = pytest.StashKey[str]()
_EXIT_STATUS = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    """chDB (the analytics store) serves one data directory per process: every analytics app and
    store this test process opens uses the same one, a fresh directory per run."""
    if "ANALYTICS_CHDB_PATH" not in os.environ:
        os.environ["ANALYTICS_CHDB_PATH"] = config.stash[_CHDB_DIR] = tempfile.mkdtemp(prefix="aintech-chdb-")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    if (made := config.stash.get(_CHDB_DIR, None)) is not None:
        shutil.rmtree(made, ignore_errors=True)
    status = config.stash.get(_EXIT_STATUS, None)
    if "chdb" in sys.modules and status is not None:
        # chDB's embedded server can crash in its own static destructors while the interpreter
        # finalises (SIGSEGV after every test passed). Pytest has reported everything by now:
        # leave with its exit status without running them.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


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
