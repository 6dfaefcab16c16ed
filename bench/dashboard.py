"""The analytics dashboard's first paint THROUGH THE GATEWAY, in headless Chromium (issue #19).

The smallest fleet that is honest: analytics (over a chDB store filled as ``bench/analytics.py``
fills it, ``--analytics-events`` fact rows) and the gateway, started as ``bench/edge.py`` starts
the quotes and fraud fleets (the signed-in user is a supervisor's token from the bench's signing
keys, which both verify through a JWKS endpoint, as the authenticator's would be). Debian's
Chromium (the browser tests' own) opens ``/api/analytics/ui?type=sales#token=...`` through the
gateway, each load in a fresh browser context (cold cache, nothing kept between loads), and the
page's own clock gives:

* **first contentful paint** (the browser's ``first-contentful-paint`` entry);
* **figures shown**: the moment the sales KPI cards hold the API's figures (the written-premium
  card in the DOM, filled from ``/api/analytics/dashboard/sales``), from navigation start.

p50/p95 over ``--dashboard-loads`` loads (after one warm-up load), beside the ≤ 1 s target.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

from bench.common import Checks, figure, heading, percentiles

FIRST_PAINT_MS = 1000.0
CARD = '#cards [data-kpi="written_premium"] .value'
SHOWN = f"""() => {{
  if (!document.querySelector('{CARD}')) return false;
  window.__figuresShown = window.__figuresShown || performance.now();
  return true;
}}"""


FIGURES_REQUEST = """() => {
  const e = performance.getEntriesByType('resource').find(r => r.name.includes('/dashboard/sales'));
  return e ? [e.startTime, e.responseEnd - e.startTime] : [-1, -1];
}"""


async def _load(browser: Any, url: str) -> tuple[float, float, float, float]:
    """One cold load: first contentful paint, figures shown, and the figures' request (when it
    started, how long it took), in ms from navigation start."""
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(url)
        await page.wait_for_function(SHOWN, polling="raf", timeout=60_000)
        shown = float(await page.evaluate("window.__figuresShown"))
        fcp = float(
            await page.evaluate(
                "performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)[0] ?? -1"
            )
        )
        asked, took = await page.evaluate(FIGURES_REQUEST)
        return fcp, shown, float(asked), float(took)
    finally:
        await context.close()


async def _fill_store(path: str, database: str, size: int) -> None:
    from analytics.store.port import ChdbStore, close_chdb
    from analytics.store.schema import create_schema
    from bench.analytics import fill

    try:
        store = ChdbStore(path, database=database)
        await create_schema(store)
        await fill(store, size)
    finally:
        close_chdb(path)  # the directory is the service's from here on (one process per chDB)


async def bench_dashboard_gateway(
    env: dict[str, str], port_offset: int, *, size: int, loads: int, keep: str | None = None
) -> list[str]:
    from playwright.async_api import async_playwright

    from aintech_contracts.rbac import Role
    from aintech_devtools.browser import ARGS, chromium_executable
    from bench.common import ROOT
    from bench.edge import edge_fleet

    heading(f"analytics: the dashboard's first paint THROUGH THE GATEWAY (Chromium, {loads} cold loads)")
    checks = Checks("dashboard")
    database = f"bench_kpis_{size}"
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as scratch:
        path = keep or scratch
        await _fill_store(path, database, size)
        service_env = {
            **env,
            "ANALYTICS_CHDB_PATH": path,
            "ANALYTICS_STORE_DATABASE": database,
            "ANALYTICS_INGEST_ENABLED": "false",
            "ANALYTICS_CHURN_JOB_ENABLED": "false",
        }
        async with edge_fleet(
            service_env,
            port_offset,
            "analytics",
            8008,
            Role.supervisor,
            "SELECT $1::text AS id",
            "/api/analytics/dashboard/sales",
        ) as edge:
            url = f"{edge.gateway}/api/analytics/ui?type=sales#token={edge.token}"
            executable = chromium_executable(ROOT)
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
                try:
                    await _load(browser, url)  # warm-up: the service's first statements, imports
                    paints, shown, asked, took = [], [], [], []
                    started = time.perf_counter()
                    for _ in range(loads):
                        fcp, done, start, spent = await _load(browser, url)
                        paints.append(fcp / 1000)
                        shown.append(done / 1000)
                        asked.append(start / 1000)
                        took.append(spent / 1000)
                    wall = time.perf_counter() - started
                finally:
                    await browser.close()
    fcp_p, shown_p = percentiles(paints), percentiles(shown)
    figure("loads (cold context each), wall", f"{loads} in {wall:.1f} s")
    for label, samples in (
        ("figures requested (the script ran), from navigation start", asked),
        ("figures request through the gateway, start to last byte", took),
    ):
        p = percentiles(samples)
        figure(label, f"p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms")
    figure("load average (1, 5, 15 min)", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    checks.add(
        f"first contentful paint through the gateway, p95 (p50 {fcp_p['p50']:.0f} ms)",
        f"{fcp_p['p95']:.0f} ms",
        f"<= {FIRST_PAINT_MS:g} ms",
        fcp_p["p95"] <= FIRST_PAINT_MS,
    )
    checks.add(
        f"KPI figures shown through the gateway, p95 (p50 {shown_p['p50']:.0f} ms)",
        f"{shown_p['p95']:.0f} ms",
        f"<= {FIRST_PAINT_MS:g} ms",
        shown_p["p95"] <= FIRST_PAINT_MS,
    )
    return checks.report()
