"""The CRM section of `make bench`: customer read by id and name search over 100k customers.

For the harness (`bench/run.py`):

* ``await seed_customers(admin_url, 100_000)`` loads the customers once with COPY (valid DNIs,
  Spanish names and provinces, the folded ``search_text`` the search index uses) and ANALYZEs;
* ``workloads(ids, token)`` gives the wrk targets (path, Lua script, targets): ``crm.customer_by_id``
  (>= 1,000 req/s, p99 <= 50 ms at 32 connections through the gateway) and ``crm.name_search``
  (p99 <= 50 ms);
* ``await explain_search(admin_url)`` runs EXPLAIN ANALYZE on the service's own search query for a
  few names (common and rare) and returns the execution times.

Run alone: ``uv run python bench/crm.py`` starts the bench Postgres and Kafka (profile ``bench``),
seeds, starts core-crm and the gateway with a local JWKS, drives both with wrk (32 connections)
and prints each figure beside its target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "deploy" / "local"))

import asyncpg  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402

BENCH_SOURCE = "bench"
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
FIRST = (
    "Lucía",
    "Hugo",
    "Martina",
    "Mateo",
    "Sofía",
    "Leo",
    "Julia",
    "Daniel",
    "Paula",
    "Álvaro",
    "Carmen",
    "Manuel",
    "Elena",
    "Javier",
    "Laura",
    "Sergio",
    "Marta",
    "Íñigo",
    "Nerea",
    "Jordi",
    "Ainhoa",
    "Raúl",
)
LAST = (
    "García",
    "Rodríguez",
    "González",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Martín",
    "Jiménez",
    "Ruiz",
    "Hernández",
    "Díaz",
    "Moreno",
    "Muñoz",
    "Álvarez",
    "Romero",
    "Navarro",
    "Torres",
    "Domínguez",
    "Vázquez",
    "Ramos",
    "Gil",
    "Serrano",
    "Blanco",
    "Molina",
    "Castro",
    "Ortiz",
    "Rubio",
    "Iglesias",
    "Ibáñez",
    "Etxeberria",
    "Goikoetxea",
    "Puig",
    "Vidal",
    "Soler",
    "Ferrer",
)
PROVINCES = (
    ("28", "Madrid"),
    ("08", "Barcelona"),
    ("46", "Valencia"),
    ("41", "Sevilla"),
    ("50", "Zaragoza"),
    ("29", "Málaga"),
    ("48", "Bizkaia"),
    ("03", "Alicante"),
    ("30", "Murcia"),
    ("15", "A Coruña"),
)
# Name searches as agents type them: common surnames, partial names, accents left out, rare names.
SEARCHES = (
    "garcia",
    "munoz",
    "martin",
    "lucia",
    "fernandez lopez",
    "etxeberria",
    "inigo",
    "ibanez",
    "goiko",
    "jordi puig",
    "sofia",
    "rubio",
)


@dataclass(frozen=True)
class Workload:
    """A wrk target: the path of the first request, a Lua script varying it, and its targets."""

    name: str
    path: str
    script: str
    min_rps: float | None
    max_p99_ms: float


def fold(value: str) -> str:
    from core_crm.core.spain import fold as spanish_fold

    return spanish_fold(value)


async def seed_customers(admin_url: str, count: int = 100_000, *, seed: int = 7) -> list[str]:
    """Load ``count`` benchmark customers with COPY (once); returns their ids."""
    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        have = await conn.fetchval("SELECT count(*) FROM crm.customers WHERE lead_source = $1", BENCH_SOURCE)
        if have < count:
            rng = random.Random(seed)
            start = await conn.fetchval(
                "SELECT coalesce(max(substr(dni, 1, 8)::int), 60000000) + 1 FROM "
                "crm.customers WHERE lead_source = $1",
                BENCH_SOURCE,
            )
            now = datetime.now(UTC)
            records = []
            for i in range(count - have):
                number = start + i
                first, last = rng.choice(FIRST), f"{rng.choice(LAST)} {rng.choice(LAST)}"
                code, province = rng.choice(PROVINCES)
                created = now - timedelta(seconds=rng.randrange(0, 5 * 365 * 86400))
                records.append(
                    (
                        uuid.uuid4(),
                        "individual",
                        first,
                        last,
                        f"bench{number}@example.com",
                        f"+346{rng.randrange(10**7, 10**8)}",
                        f"{number}{DNI_LETTERS[number % 23]}",
                        f"{code}{rng.randrange(1, 999):03d}",
                        province,
                        "active",
                        rng.choice(("new", "standard", "premium", "vip")),
                        BENCH_SOURCE,
                        fold(f"{first} {last}"),
                        created,
                        created,
                        created.date(),
                    )
                )
            await conn.copy_records_to_table(
                "customers",
                schema_name="crm",
                records=records,
                columns=[
                    "id",
                    "customer_type",
                    "first_name",
                    "last_name",
                    "email",
                    "mobile",
                    "dni",
                    "postal_code",
                    "province",
                    "status",
                    "segment",
                    "lead_source",
                    "search_text",
                    "created_at",
                    "updated_at",
                    "customer_since",
                ],
            )
            await conn.execute("ANALYZE crm.customers")
        rows = await conn.fetch(
            "SELECT id FROM crm.customers WHERE lead_source = $1 ORDER BY id LIMIT 2000", BENCH_SOURCE
        )
        return [str(r["id"]) for r in rows]
    finally:
        await conn.close()


def _lua_list(values: list[str]) -> str:
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


def workloads(ids: list[str], token: str, *, prefix: str = "/api/crm") -> list[Workload]:
    """The CRM's wrk targets (paths under ``prefix``: the gateway's by default)."""
    header = f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    by_id = (
        header + f"local ids = {_lua_list(ids[:1000])}\n"
        "request = function()\n"
        f'  return wrk.format("GET", "{prefix}/customers/" .. ids[math.random(#ids)])\n'
        "end\n"
    )
    queries = [q.replace(" ", "+") for q in SEARCHES]
    search = (
        header + f"local qs = {_lua_list(queries)}\n"
        "request = function()\n"
        f'  return wrk.format("GET", "{prefix}/customers?limit=20&q=" .. qs[math.random(#qs)])\n'
        "end\n"
    )
    return [
        Workload("crm.customer_by_id", f"{prefix}/customers/{ids[0]}", by_id, 1000.0, 50.0),
        Workload("crm.name_search", f"{prefix}/customers?q=garcia", search, None, 50.0),
    ]


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def run_wrk(
    base_url: str, workload: Workload, *, connections: int = 32, seconds: int = 10, threads: int = 2
) -> WrkResult:
    """Drive one workload with wrk (after a 2 s warm-up) and parse its figures.

    Runs as an asyncio subprocess so this process's event loop (e.g. a local JWKS) keeps serving.
    """
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(workload.script)
    try:
        base = ["wrk", f"-t{threads}", f"-c{connections}", "--latency", "-s", script.name]
        out = ""
        for duration in (2, seconds):
            proc = await asyncio.create_subprocess_exec(
                *base, f"-d{duration}s", base_url + workload.path, stdout=asyncio.subprocess.PIPE
            )
            stdout, _ = await proc.communicate()
            out = stdout.decode()
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(rps=rps, p50_ms=p50, p99_ms=p99, errors=errors)


async def explain_search(admin_url: str, names: tuple[str, ...] = SEARCHES) -> dict[str, float]:
    """EXPLAIN ANALYZE of the service's own name-search query: execution time (ms) per name."""
    from core_crm.customers.repository import search_statement

    conn = await asyncpg.connect(admin_url.replace("postgresql+asyncpg://", "postgresql://"))
    out: dict[str, float] = {}
    try:
        for name in names:
            statement = search_statement(
                name=fold(name),
                email=None,
                phone=None,
                tax_id=None,
                statuses=None,
                segment=None,
                province=None,
                tag=None,
                owner_id=None,
                only_id=None,
                sort="-created_at",
                after=None,
                limit=20,
            )
            sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
            plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            lines = [r[0] for r in plan]
            timing = next(line for line in lines if line.startswith("Execution Time"))
            out[name] = float(re.search(r"([\d.]+) ms", timing).group(1))  # type: ignore[union-attr]
    finally:
        await conn.close()
    return out


# --- standalone run -----------------------------------------------------------------------------


def _figure(label: str, value: str, target: str, passed: bool | None) -> None:
    verdict = "" if passed is None else ("PASS" if passed else "FAIL")
    print(f"  {label:<44} {value:<36} {target:<22} {verdict}", flush=True)


async def _jwks_server(jwks: dict[str, object]) -> tuple[object, str]:
    from aiohttp import web

    async def serve(_: web.Request) -> web.Response:
        return web.json_response(jwks)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/.well-known/jwks.json"


def _spawn(module: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


async def _wait(url: str, within: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError(url)


async def main_async(args: argparse.Namespace, env: dict[str, str], port_offset: int) -> int:
    from aintech_contracts.rbac import Role
    from aintech_devtools.testing import TestKeys

    procs: list[subprocess.Popen[bytes]] = []
    try:
        t0 = time.monotonic()
        ids = await seed_customers(env["AINTECH_DATABASE_URL"], args.customers)
        print(
            f"\n== core-crm ({args.customers:,} customers; seeded/checked in {time.monotonic() - t0:.1f}s) =="
        )
        keys = TestKeys(issuer="https://auth.aintech.local", audience="aintech-api")
        runner, jwks_url = await _jwks_server(keys.jwks())
        offset = port_offset
        crm_port, gw_port = 8002 + offset, 8000 + offset
        child = {**os.environ, **env, "AINTECH_JWKS_URL": jwks_url, "AINTECH_LOG_LEVEL": "WARNING"}
        procs.append(_spawn("core_crm", {**child, "CORE_CRM_PORT": str(crm_port)}))
        procs.append(
            _spawn("gateway", {**child, "GATEWAY_PORT": str(gw_port), "GATEWAY_PORT_OFFSET": str(offset)})
        )
        await _wait(f"http://127.0.0.1:{crm_port}/healthz")
        await _wait(f"http://127.0.0.1:{gw_port}/api/crm/healthz")
        token = keys.token(role=Role.agent, expires_in=3600)
        for label, base, prefix in (
            ("through the gateway", f"http://127.0.0.1:{gw_port}", "/api/crm"),
            ("direct to core-crm", f"http://127.0.0.1:{crm_port}", ""),
        ):
            for workload in workloads(ids, token, prefix=prefix):
                result = await run_wrk(base, workload, connections=args.connections, seconds=args.seconds)
                ok = (
                    result.errors == 0
                    and result.p99_ms <= workload.max_p99_ms
                    and (workload.min_rps is None or result.rps >= workload.min_rps)
                )
                target = f"p99<={workload.max_p99_ms:.0f}ms" + (
                    f" >={workload.min_rps:,.0f}/s" if workload.min_rps else ""
                )
                _figure(
                    f"{workload.name} {label}",
                    f"{result.rps:,.0f} req/s p50 {result.p50_ms:.1f} p99 {result.p99_ms:.1f} ms"
                    + (f" ({result.errors} errors)" if result.errors else ""),
                    target if label == "through the gateway" else "",
                    ok if label == "through the gateway" else None,
                )
        plans = await explain_search(env["AINTECH_DATABASE_URL"])
        for name, ms in plans.items():
            _figure(f"EXPLAIN ANALYZE name search '{name}'", f"{ms:.2f} ms", "", None)
        await runner.cleanup()  # type: ignore[attr-defined]
        return 0
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="leave the bench Postgres and Kafka running")
    args = parser.parse_args()
    import stack

    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install -y wrk); the CRM section needs it.", file=sys.stderr)
        return 2
    profile = stack.PROFILES["bench"]
    env = stack.start_infra(profile)
    try:
        stack.migrate(env)
        return asyncio.run(main_async(args, env, profile.port_offset))
    finally:
        if not args.keep:
            stack.stop_infra(profile)


if __name__ == "__main__":
    raise SystemExit(main())
