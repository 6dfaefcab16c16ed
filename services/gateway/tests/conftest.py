"""A real gateway process in front of a real upstream process, both on loopback.

`stand_in` runs tests/upstream_app.py (the chassis app served with the chassis' uvicorn setup) on
the ports of the authenticator, core-crm, telephony and omnichannel plus an offset; `start_gateway`
runs `python -m gateway` routed to it, with the test Kafka for the revoked-session feed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aintech_contracts.events.auth import SessionRevoked
from aintech_contracts.fleet import BY_NAME, FLEET
from aintech_devtools.testing import TestKeys, publish_event

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
IDENTITY_SECRET = "test-identity-secret-0123456789abcdef"
ISSUER = "https://auth.aintech.local"
AUDIENCE = "aintech-api"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_port_block(start: int = 21000) -> int:
    """An offset such that every fleet port + offset is free on 127.0.0.1."""
    for offset in range(start, 40000, 97):
        socks: list[socket.socket] = []
        try:
            for spec in FLEET:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", spec.port + offset))
            return offset
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port block")


def wait_until(check: Callable[[], bool], *, within: float, what: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what}: not ready after {within:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class Gateway:
    url: str
    offset: int
    keys: TestKeys
    log: Path
    kafka_bootstrap: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def token(self, **claims: Any) -> str:
        return self.keys.token(**claims)

    def auth(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def service_url(self, name: str) -> str:
        """The stand-in's own address for service ``name`` (bypassing the gateway)."""
        return f"http://127.0.0.1:{BY_NAME[name].port + self.offset}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="session")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="session")
def stand_in(keys: TestKeys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The upstream process; yields the port offset it listens at."""
    folder = tmp_path_factory.mktemp("stand-in")
    jwks = folder / "jwks.json"
    jwks.write_text(json.dumps(keys.jwks()))
    offset = free_port_block()
    env = {**os.environ, "AINTECH_IDENTITY_SECRET": IDENTITY_SECRET, "AINTECH_LOG_LEVEL": "WARNING"}
    with (folder / "stand-in.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "upstream_app.py"), str(offset), str(jwks)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        crm = f"http://127.0.0.1:{BY_NAME['core_crm'].port + offset}/healthz"
        wait_until(
            lambda: httpx.get(crm, timeout=2).status_code == 200, within=180, what="stand-in", proc=proc
        )
        yield offset
    finally:
        stop(proc)


GatewayFactory = Callable[..., Gateway]


@pytest.fixture(scope="session")
def start_gateway(
    stand_in: int, keys: TestKeys, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayFactory]:
    """Start gateway processes routed to the stand-in (stopped at the end of the session)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(command: Sequence[str] | None = None, **settings: Any) -> Gateway:
        """A gateway process (``python -m gateway``, or ``command`` with the same environment)."""
        port = free_port()
        log_path = tmp_path_factory.mktemp("gateway") / "gateway.log"
        authenticator = f"http://127.0.0.1:{BY_NAME['authenticator'].port + stand_in}"
        env = {
            **os.environ,
            "AINTECH_ENV": "test",
            "AINTECH_LOG_JSON": "true",
            "AINTECH_JWKS_URL": f"{authenticator}/.well-known/jwks.json",
            "AINTECH_IDENTITY_SECRET": IDENTITY_SECRET,
            "GATEWAY_PORT": str(port),
            "GATEWAY_PORT_OFFSET": str(stand_in),
            "GATEWAY_READ_TIMEOUT": "5",
            "GATEWAY_MAX_BODY_BYTES": str(1024 * 1024),
            "GATEWAY_BODY_IDLE_TIMEOUT": "1",
            "GATEWAY_BODY_TIMEOUT": "5",
            "GATEWAY_HEADER_TIMEOUT": "1",
            "GATEWAY_WS_IDLE_TIMEOUT": "2",
            "GATEWAY_RATE_LIMITS": json.dumps({"anonymous": "100000/minute", "user": "100000/minute"}),
            "GATEWAY_CORS_ORIGINS": json.dumps(["https://app.aintech.example"]),
            "GATEWAY_ALLOWED_HOSTS": json.dumps(["127.0.0.1", "localhost", "api.aintech.example"]),
        }
        for name, value in settings.items():
            env[name] = value if isinstance(value, str) else json.dumps(value)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                list(command or [sys.executable, "-m", "gateway"]),
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        url = f"http://127.0.0.1:{port}"

        def denylist_caught_up() -> bool:
            body = httpx.get(f"{url}/readyz", timeout=5).json()
            return bool(body.get("checks", {}).get("denylist", {}).get("ok"))

        try:
            wait_until(denylist_caught_up, within=180, what="gateway", proc=proc)
        except RuntimeError as exc:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{exc}\n{tail}") from exc
        return Gateway(url, stand_in, keys, log_path, kafka_bootstrap, proc)

    try:
        yield start
    finally:
        for proc in started:
            stop(proc)


@pytest.fixture(scope="session")
def gateway(start_gateway: GatewayFactory) -> Gateway:
    """The gateway most tests share (generous rate limits, short timeouts, 1 MiB bodies)."""
    return start_gateway()


async def publish_revocation(bootstrap: str, session_ids: list[str], *, user_id: str | None = None) -> None:
    """Publish ``session.revoked`` as the authenticator's outbox relay would."""
    now = datetime.now(UTC)
    user = uuid.UUID(user_id) if user_id else uuid.uuid4()
    payload = SessionRevoked(
        user_id=user,
        session_ids=[uuid.UUID(s) for s in session_ids],
        reason="logout",
        revoked_at=now,
        deny_until=now + timedelta(minutes=16),
    )
    await publish_event(bootstrap, payload, key=str(user), source="authenticator")


@pytest.fixture(scope="session")
def revoke() -> Callable[..., Any]:
    return publish_revocation
