"""Quote comparison and fraud scoring THROUGH THE GATEWAY (issues #16 and #17, "Speed").

The in-process figures are in ``bench/quotes.py`` and ``bench/fraud.py``; here the same work is
asked of the running service through the gateway, as a client would:

* ``quotes_gateway``: ``POST /api/quotes/compare`` of an auto risk across 20 products (every
  cover level: 80 ratings, the comparison stored), cycling 300 distinct risks (drivers, vehicles,
  postcodes) so no answer can come from a cache, 8 concurrent clients (wrk ``-c8``) — targets
  ≥ 300 comparisons/s and p99 ≤ 50 ms;
* ``fraud_gateway``: ``POST /api/fraud/analyze`` of one saved claim without photos (scored,
  stored, published through the outbox) — target p99 ≤ 50 ms; also at 8 clients.

Each is printed beside the bare anchor (``bench/anchor.py``: Starlette + asyncpg, one row by
primary key) loaded by the same wrk at the same concurrency in the same run, and with the
CPU-ms per request of the service, the gateway and Postgres (utime + stime over the requests).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.common import (
    BENCH_ENV,
    Checks,
    CpuMeter,
    background,
    ensure_running,
    figure,
    heading,
    jwks_app,
    postmaster_pid,
    spawn,
    spawn_anchor,
    stop,
    wait_http,
)
from bench.crm import AUDIENCE, ISSUER, Workload, run_wrk

COMPARE_MIN_RPS = 300.0
COMPARE_P99_MS = 50.0
SCORE_P99_MS = 50.0
CLIENTS = 8
AUTO_RISK = {
    "line": "auto",
    "postal_code": "28013",
    "driver_age": 20,
    "years_licensed": 1,
    "vehicle_power_hp": 110,
    "vehicle_age": 3,
    "km_per_year": 12000,
}


@dataclass(frozen=True)
class Edge:
    """One service, the gateway and the anchor of a bench run, with a token both accept."""

    service: str  # base URL, direct
    gateway: str
    anchor: str
    token: str
    pids: dict[str, int]  # service, gateway, anchor


@asynccontextmanager
async def edge_fleet(
    env: dict[str, str], port_offset: int, module: str, port: int, role: Any, anchor_query: str, probe: str
) -> AsyncIterator[Edge]:
    """Start ``module`` on ``port + port_offset``, the gateway and the anchor; ``probe`` is a
    gateway path answering 200 once authenticated calls are forwarded."""
    from sqlalchemy.engine import make_url

    from aintech_devtools.testing import TestKeys

    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    service_port, gw_port, anchor_port = port + port_offset, 8000 + port_offset, 8099 + port_offset
    dsn = make_url(env["AINTECH_DATABASE_URL"]).set(drivername="postgresql")
    with background(jwks_app(keys.jwks())) as jwks_base:
        child = {
            **env,
            **BENCH_ENV,
            "AINTECH_JWKS_URL": f"{jwks_base}/.well-known/jwks.json",
            "AINTECH_JWT_ISSUER": ISSUER,
            "AINTECH_JWT_AUDIENCE": AUDIENCE,
        }
        procs = {
            "service": spawn(
                module, {**child, f"{module.upper()}_PORT": str(service_port)}, log_level="INFO"
            ),
            "gateway": spawn(
                "gateway",
                {**child, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(port_offset)},
                log_level="INFO",
            ),
            "anchor": spawn_anchor(
                anchor_port, dsn.render_as_string(hide_password=False), query=anchor_query
            ),
        }
        try:
            token = keys.token(role=role, expires_in=3600)
            service, gateway = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{gw_port}"
            anchor = f"http://127.0.0.1:{anchor_port}"
            for url in (f"{service}/healthz", f"{gateway}/healthz", f"{anchor}/healthz"):
                await wait_http(url, status=200, procs=procs)
            await wait_http(
                gateway + probe, headers={"Authorization": f"Bearer {token}"}, status=200, procs=procs
            )
            ensure_running(procs)
            yield Edge(service, gateway, anchor, token, {name: p.pid for name, p in procs.items()})
        finally:
            stop(procs.values())


def post_workload(name: str, path: str, body: dict[str, Any], token: str) -> Workload:
    """A wrk target POSTing ``body`` as JSON to ``path`` with the bearer token."""
    payload = json.dumps(body).replace("\\", "\\\\").replace('"', '\\"')
    script = (
        f'wrk.method = "POST"\nwrk.body = "{payload}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    return Workload(name, path, script, None, 50.0)


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cycled_post_workload(name: str, path: str, bodies: list[dict[str, Any]], token: str) -> Workload:
    """A wrk target POSTing each of ``bodies`` in turn (so no two consecutive requests are alike)."""
    script = (
        "bodies = {\n" + ",\n".join(_lua_string(json.dumps(b)) for b in bodies) + "\n}\ncounter = 0\n"
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  counter = counter + 1\n"
        "  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])\n"
        "end\n"
    )
    return Workload(name, path, script, None, 50.0)


# Postal codes of several provinces (each tariff zones them differently).
POSTAL_CODES = ("28013", "28500", "08001", "08940", "46010", "41004", "42001", "15001", "48001", "29016")


def varied_auto_risks(count: int = 300, *, seed: int = 16) -> list[dict[str, Any]]:
    """``count`` distinct, valid auto risks: drivers, vehicles and postcodes drawn from a fixed seed."""
    import random

    rng = random.Random(seed)
    risks: dict[str, dict[str, Any]] = {}
    while len(risks) < count:
        age = rng.randint(18, 80)
        licensed = rng.randint(0, age - 18)
        risk = {
            "line": "auto",
            "postal_code": rng.choice(POSTAL_CODES),
            "driver_age": age,
            "years_licensed": licensed,
            "no_claims_years": rng.randint(0, licensed),
            "claims_5y": rng.choice((0, 0, 0, 1, 2)),
            "vehicle_type": "car",
            "vehicle_value": str(rng.randrange(6000, 60000, 500)),
            "vehicle_power_hp": rng.randint(60, 250),
            "vehicle_age": rng.randint(0, 15),
            "km_per_year": rng.randrange(3000, 40000, 1000),
            "garage": rng.random() < 0.5,
            "use": "private",
        }
        risks[json.dumps(risk, sort_keys=True)] = risk
    return list(risks.values())


def anchor_workload(row_id: str) -> Workload:
    return Workload("anchor", f"/rows/{row_id}", "", None, 50.0)


async def _drive(edge: Edge, workload: Workload, anchor_id: str, *, seconds: float) -> dict[str, Any]:
    """The anchor, then the workload through the gateway, each at ``CLIENTS`` connections."""
    pg = postmaster_pid()
    trees = {"postgres": pg} if pg else {}
    anchor = await run_wrk(
        edge.anchor,
        anchor_workload(anchor_id),
        CpuMeter({"service": edge.pids["anchor"]}, trees),
        connections=CLIENTS,
        seconds=seconds,
    )
    via = await run_wrk(
        edge.gateway,
        workload,
        CpuMeter({"service": edge.pids["service"], "gateway": edge.pids["gateway"]}, trees),
        connections=CLIENTS,
        seconds=seconds,
    )
    print(
        f"  {'':<40} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
        "   CPU-ms/req: service  gateway  postgres  errors",
        flush=True,
    )
    for label, r in (("anchor: Starlette + asyncpg, 1 row", anchor), (workload.name, via)):
        cpu = r.cpu_ms
        print(
            f"  {label:<40} {r.rps:>8,.0f} {r.p50_ms:>7.1f} {r.p99_ms:>7.1f}   {cpu['service']:>17.2f} "
            f"{cpu.get('gateway', float('nan')):>8.2f} {cpu.get('postgres', float('nan')):>9.2f}"
            f" {r.errors:>7}",
            flush=True,
        )
    return {"anchor": anchor, "via": via}


# --- quotes ---------------------------------------------------------------------------------------


async def seed_products() -> int:
    """The 20 auto products of ``bench/quotes.py``, imported and activated once; returns how many
    auto products are active."""
    from sqlalchemy import text

    from aintech_shared.db import Database
    from bench.quotes import products
    from quote_engine.core.runtime import build_runtime
    from quote_engine.settings import Settings
    from quote_engine.tariffs import repository, service

    settings = Settings()
    db = Database(settings.service_database_url, schema=settings.db_schema)
    try:
        async with db.transaction() as session:
            for definition in products():
                if await repository.product_by_code(session, definition.product_code) is not None:
                    continue
                version, _ = await service.import_tariff(
                    session, definition=definition, source="seed", actor=None
                )
                await service.activate(session, rt=build_runtime(settings), version_id=version.id)
        async with db.transaction() as session:
            count = await session.scalar(
                text("SELECT count(*) FROM quotes.carrier_products WHERE line = 'auto'")
            )
    finally:
        await db.dispose()
    return int(count or 0)


async def bench_quotes_gateway(env: dict[str, str], port_offset: int, *, seconds: float = 10) -> list[str]:
    from aintech_contracts.rbac import Role

    heading(f"quote engine: compare across 20 products THROUGH THE GATEWAY ({CLIENTS} clients, wrk)")
    products = await seed_products()
    figure("auto products active", str(products))
    body = {"risk": AUTO_RISK}
    bodies = [{"risk": risk} for risk in varied_auto_risks()]
    figure("distinct risks cycled", str(len(bodies)))
    async with edge_fleet(
        env,
        port_offset,
        "quote_engine",
        8005,
        Role.agent,
        "SELECT id, code, carrier, line, name FROM quotes.carrier_products WHERE id = $1",
        "/api/quotes/tariffs/taxes",
    ) as edge:
        anchor_id = await _one_id(
            env["AINTECH_DATABASE_URL"], "SELECT id FROM quotes.carrier_products LIMIT 1"
        )
        offers = await _post_json(edge.gateway + "/api/quotes/compare", body, edge.token)
        figure("one comparison (eligible + ineligible offers)", offers)
        size = await _answer_bytes(edge.gateway + "/api/quotes/compare", body, edge.token)
        figure("one comparison's answer, bytes (default / ?explain=true)", size)
        workload = cycled_post_workload(
            "compare, through the gateway", "/api/quotes/compare", bodies, edge.token
        )
        results = await _drive(edge, workload, anchor_id, seconds=seconds)
        # For comparison in the same run (not a target): every offer explained, as before decision 0061.
        explained = cycled_post_workload(
            "compare ?explain=true (for comparison)", "/api/quotes/compare?explain=true", bodies, edge.token
        )
        await _drive(edge, explained, anchor_id, seconds=seconds)
    via = results["via"]
    checks = Checks("quotes")
    checks.add(
        "compare 20 products through the gateway, 8 clients",
        f"{via.rps:,.0f}/s",
        f">= {COMPARE_MIN_RPS:g}/s",
        via.rps >= COMPARE_MIN_RPS,
    )
    checks.add(
        "compare through the gateway, p99",
        f"{via.p99_ms:.1f} ms",
        f"<= {COMPARE_P99_MS:g} ms",
        via.p99_ms <= COMPARE_P99_MS,
    )
    checks.add("every comparison answered 2xx", f"{via.errors} errors", "0", via.errors == 0)
    return checks.report()


async def _answer_bytes(url: str, body: dict[str, Any], token: str) -> str:
    import aiohttp

    bearer = {"Authorization": f"Bearer {token}"}
    sizes = []
    async with aiohttp.ClientSession() as session:
        for query in ("", "?explain=true"):
            async with session.post(url + query, json=body, headers=bearer) as r:
                sizes.append(len(await r.read()))
    return f"{sizes[0]:,} / {sizes[1]:,}"


async def _one_id(database_url: str, query: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return str(await conn.fetchval(query))
    finally:
        await conn.close()


async def _post_json(url: str, body: dict[str, Any], token: str) -> str:
    """One call, checked; returns what the answer holds (offers, or the score and its parts)."""
    import aiohttp

    bearer = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=bearer) as r:
        answer = await r.json()
        if r.status >= 300:
            raise RuntimeError(f"{url}: {r.status} {answer}")
    if "offers" in answer:
        return f"{len(answer['offers']) + len(answer['ineligible'])} offers"
    return f"score {answer['score']}, band {answer['band']}, {len(answer['parts'])} parts"


# --- fraud ----------------------------------------------------------------------------------------


async def seed_claim() -> uuid.UUID:
    """A customer, a home policy and a claim without photos in ai-fraud's read model."""
    from ai_fraud.readmodel import service as readmodel
    from ai_fraud.settings import Settings
    from aintech_contracts.events.crm import ClaimCreated, CustomerCreated, PolicyCreated
    from aintech_shared.db import Database

    settings = Settings()
    db = Database(settings.service_database_url, schema=settings.db_schema)
    customer_id, policy_id, claim_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            await readmodel.apply_customer(
                session,
                data=CustomerCreated(
                    customer_id=customer_id, customer_type="individual", first_name="Bench", last_name="Edge",
                    status="active", email=f"edge-{customer_id.hex[:8]}@example.com",
                ),
                at=now - timedelta(days=400),
            )  # fmt: skip
            await readmodel.apply_policy(
                session,
                data=PolicyCreated(
                    policy_id=policy_id, policy_number=f"POL-E-{policy_id.hex[:6]}", policy_type="home",
                    carrier="Mapfre", customer_id=customer_id, status="active",
                    coverage_start_date=date.today() - timedelta(days=200),
                    coverage_end_date=date.today() + timedelta(days=165),
                    premium_amount=Decimal("300.00"), premium_frequency="annual",
                    coverage_amount=Decimal("20000.00"),
                ),
            )  # fmt: skip
            await readmodel.apply_claim(
                session,
                data=ClaimCreated(
                    claim_id=claim_id, claim_number=f"CLM-E-{claim_id.hex[:6]}", claim_type="water_damage",
                    status="reported", customer_id=customer_id, policy_id=policy_id, policy_number="POL-E",
                    incident_date=now - timedelta(days=2), description="Fuga",
                    claimed_amount=Decimal("1200.00"), attributes={"police_report": True, "witnesses": 1},
                ),
                at=now,
            )  # fmt: skip
    finally:
        await db.dispose()
    return claim_id


async def bench_fraud_gateway(env: dict[str, str], port_offset: int, *, seconds: float = 10) -> list[str]:
    from aintech_contracts.rbac import Role

    heading(f"ai-fraud: score one claim (no photos) THROUGH THE GATEWAY ({CLIENTS} clients, wrk)")
    claim_id = await seed_claim()
    body = {"claim_id": str(claim_id)}
    async with edge_fleet(
        env,
        port_offset,
        "ai_fraud",
        8007,
        Role.supervisor,
        "SELECT id, claim_number, customer_id, policy_id, claim_type, status, claimed_amount "
        "FROM fraud.claims WHERE id = $1",
        "/api/fraud/rules",
    ) as edge:
        parts = await _post_json(edge.gateway + "/api/fraud/analyze", body, edge.token)
        figure("one score", parts)
        results = await _drive(
            edge, post_workload("analyze, through the gateway", "/api/fraud/analyze", body, edge.token),
            str(claim_id), seconds=seconds,
        )  # fmt: skip
    via = results["via"]
    checks = Checks("fraud")
    checks.add(
        "score one claim through the gateway, p99",
        f"{via.p99_ms:.1f} ms",
        f"<= {SCORE_P99_MS:g} ms",
        via.p99_ms <= SCORE_P99_MS,
    )
    checks.add("every score answered 2xx", f"{via.errors} errors", "0", via.errors == 0)
    return checks.report()
