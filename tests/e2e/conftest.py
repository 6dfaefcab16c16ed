"""Boot the whole fleet as `make run` does (against the test Postgres and Kafka) and drive it
only through the gateway."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


# The key SendGrid would sign its event webhook with (the fleet's omnichannel gets the public half).
SENDGRID_WEBHOOK_KEY = ec.generate_private_key(ec.SECP256R1())
_SENDGRID_PUBLIC = SENDGRID_WEBHOOK_KEY.public_key().public_bytes(
    serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
)

# Every e2e call comes from 127.0.0.1: the production budgets per client address (10 sign-ins a
# minute at the gateway, a few sign-ups an hour at the authenticator) would refuse the suite's own
# sign-ins. The budgets themselves are tested on their own gateway and authenticator instances.
E2E_ENV = {
    "AINTECH_LOG_JSON": "true",
    "GATEWAY_RATE_LIMITS": json.dumps(
        {
            "anonymous": "6000/minute",
            "user": "60000/minute",
            "sign-in": "600/minute",
            "sign-up": "600/minute",
            "password-reset": "600/minute",
            "verification": "600/minute",
        }
    ),
    "AUTHENTICATOR_SIGNUP_MAX_PER_IP_PER_HOUR": "1000",
    "AUTHENTICATOR_PASSWORD_RESET_MAX_PER_IP_PER_HOUR": "1000",
    # The call tests walk the IVR menu whatever the hour the suite runs; out-of-hours voicemail has
    # its own tests in services/telephony.
    "TELEPHONY_OFFICE_DAYS": "[0,1,2,3,4,5,6]",
    "TELEPHONY_OFFICE_OPENS": "00:00",
    "TELEPHONY_OFFICE_CLOSES": "23:59:59.999999",
    "OMNICHANNEL_SENDGRID_WEBHOOK_PUBLIC_KEY": base64.b64encode(_SENDGRID_PUBLIC).decode(),
    # The scraper serves its demo carrier portals on loopback (as `make run` does in development).
    "SCRAPER_DEMO_PORTAL": "true",
}
# The fleet fixture's own deadlines (its setup is outside each e2e test's pytest-timeout budget):
# generous, since on a loaded machine the seed and the boot each took two minutes or more.
SEED_WITHIN = 480
FLEET_READY_WITHIN = 480
LAST = "test_shutdown.py"  # stops the shared fleet: it must run after every other e2e test
# Fills the databases with generated records and sign-in failures: after the other tests, not among them.
LATE = "test_openapi_contract.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e boots the fleet: mark it so `make test-fast` can leave it out,
    and run the contract fuzzing, then the shutdown test, after every other e2e test whatever the
    file names.

    pytest-timeout's budget (300 s, pyproject) counts fixture setup by default, so the first e2e
    test would pay for the fleet's boot (seed, then up to FLEET_READY_WITHIN s) against its own
    budget: an e2e test's budget covers its own body only (`func_only`), and the fleet fixture
    bounds each of its own steps with a deadline, so a hang is still caught either way."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if item.get_closest_marker("timeout") is None:
                item.add_marker(pytest.mark.timeout(func_only=True))
    order = {LATE: 1, LAST: 2}
    items.sort(key=lambda item: order.get(item.path.name, 0) if HERE in item.path.parents else 0)


@dataclass(frozen=True)
class Fleet:
    gateway: str
    port_offset: int
    process: subprocess.Popen[bytes]
    pid_file: Path
    log_file: Path


@pytest.fixture(scope="session")
def fleet(
    admin_database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    offset = int(os.environ.get("AINTECH_E2E_PORT_OFFSET", "10100"))
    log_file = tmp_path_factory.mktemp("fleet") / "fleet.log"
    subprocess.run(
        [sys.executable, str(ROOT / "deploy/local/stack.py"), "seed", "--profile", "test"],
        check=True,
        timeout=SEED_WITHIN,
    )
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "deploy/local/stack.py"),
                "fleet",
                "--profile",
                "test",
                "--port-offset",
                str(offset),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **E2E_ENV},
            start_new_session=True,
        )
    gateway = f"http://127.0.0.1:{8000 + offset}"
    deadline = time.monotonic() + FLEET_READY_WITHIN
    ready = False
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{gateway}/readyz", timeout=5).status_code == 200:
                ready = True
                break
        except httpx.HTTPError:
            pass
        time.sleep(1)
    if not ready:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"fleet did not become ready:\n{tail}")
    fleet = Fleet(gateway, offset, proc, ROOT / ".local/test/fleet.json", log_file)
    try:
        yield fleet
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


@pytest.fixture
def sendgrid_webhook_key() -> ec.EllipticCurvePrivateKey:
    """The private half of the SendGrid verification key the fleet's omnichannel trusts."""
    return SENDGRID_WEBHOOK_KEY


@pytest.fixture
def gw(fleet: Fleet) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fleet.gateway, timeout=30) as client:
        yield client
