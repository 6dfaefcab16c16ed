"""scripts/new_service.py: a generated service is complete — it lints, migrates its own schema and
passes its own generated tests, unchanged, against the suite's Postgres and Kafka."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from aintech_devtools.testing import committed_database

ROOT = Path(__file__).resolve().parent.parent
SERVICE = "quote_engine"  # any service declared in the fleet registry; generated beside the real one


@pytest.fixture
def generated() -> Iterator[Path]:
    """The template generated under .local/ (inside the repository, so the suite's conftest and
    settings apply to its tests), removed afterwards."""
    into = ROOT / ".local" / "generated" / uuid.uuid4().hex[:8]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "new_service.py"), SERVICE, "--into", str(into)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    try:
        yield into / "services" / SERVICE
    finally:
        shutil.rmtree(into, ignore_errors=True)


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **env}, timeout=240
    )


def test_generated_service_is_lint_clean(generated: Path) -> None:
    config = str(ROOT / "pyproject.toml")
    checked = _run([sys.executable, "-m", "ruff", "check", "--config", config, "--no-cache", str(generated)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = _run([sys.executable, "-m", "ruff", "format", "--config", config, "--check", str(generated)])
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


async def test_generated_service_migrates_and_passes_its_own_tests(
    generated: Path, admin_database_url: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = str(generated / "src")
    monkeypatch.setenv("PYTHONPATH", src)  # the generated package shadows the real one (migrations too)
    async with committed_database(
        admin_database_url, service=SERVICE, alembic_ini=generated / "alembic.ini"
    ) as database:
        result = _run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                str(generated / "tests"),
            ],
            AINTECH_DATABASE_URL=database.url,
            AINTECH_KAFKA_BOOTSTRAP=kafka_bootstrap,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "5 passed" in result.stdout, result.stdout[-2000:]  # 4 on notes, 1 on the worker
    # The tests ran the generated code, not the service of the same name in the repository.
    assert (
        str(generated)
        in _run(
            [sys.executable, "-c", f"import {SERVICE}.notes, sys; print({SERVICE}.notes.__file__)"],
            PYTHONPATH=src,
        ).stdout
    )
