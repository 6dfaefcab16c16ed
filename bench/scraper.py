"""Scraper figures, in process against the demo carrier portals on 127.0.0.1 (no database):

* pages per minute per worker: Mapfre's static portal (httpx + selectolax) and AXA's JavaScript
  portal (Playwright driving Debian's Chromium), one logged-in session each, quote after quote;
* policy PDF parse time (pypdf + pdfplumber) for a generated 5-page policy, p95 against the
  500 ms target;
* the browser's memory per worker: resident set of Chromium's processes while it quotes.
"""

from __future__ import annotations

import os
import time

import psutil
import uvicorn

from aintech_devtools.testing import uvicorn_serving
from bench.common import Checks, figure, heading, percentiles
from scraper.carriers.engines import BrowserEngine, Engine, HttpEngine
from scraper.carriers.registry import adapter
from scraper.core.hosts import HostPolicy
from scraper.demo.portal import PASSWORD, USERNAME, build_portal
from scraper.documents.pdf import parse_policy

PDF_P95_MS = 500.0
RISK = {"risk": {"plate": "4821KLM", "postal_code": "28013", "driver_birth_date": "1990-05-17"}}
CHROMIUM = os.environ.get("SCRAPER_CHROMIUM_PATH", "/usr/bin/chromium")


def _chromium_rss() -> int:
    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


async def _pages_per_minute(engine: Engine, seconds: float) -> tuple[float, int]:
    await engine.login(USERNAME, PASSWORD)
    pages, peak = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        offers = await engine.prices(RISK)
        assert offers, "no offers read"
        pages += 1
        peak = max(peak, _chromium_rss())
    return pages / (time.perf_counter() - start) * 60, peak


def _policy_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    first = [
        "Nº de póliza: AU-2026-004521", "Tomador: Lucía Martín Gómez", "NIF: 12345678Z",
        "Fecha de efecto: 01/03/2026", "Fecha de vencimiento: 01/03/2027", "Matrícula: 4821 KLM",
        "Prima total (impuestos incluidos): 1.234,56 EUR", "Coberturas contratadas:", "- Lunas",
    ]  # fmt: skip
    for page in range(5):
        pdf.add_page()
        for line in first if page == 0 else ["Condiciones generales: texto de la póliza."] * 30:
            pdf.cell(0, 8, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


async def _bench(seconds: float, documents: int) -> list[str]:
    checks = Checks("scraper")
    server = uvicorn.Server(
        uvicorn.Config(
            build_portal(), host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="off"
        )
    )
    async with uvicorn_serving(server) as port:
        base = f"http://127.0.0.1:{port}"
        policy = HostPolicy(["127.0.0.1"])
        mapfre, axa = adapter("mapfre"), adapter("axa")
        assert mapfre is not None and axa is not None
        static = HttpEngine(mapfre, f"{base}/mapfre", policy, timeout=10)
        try:
            per_minute, _ = await _pages_per_minute(static, seconds)
        finally:
            await static.close()
        figure("static portal (httpx + selectolax), pages/minute/worker", f"{per_minute:,.0f}")
        browser = BrowserEngine(axa, f"{base}/axa", policy, executable=CHROMIUM, timeout=15)
        try:
            js_per_minute, peak = await _pages_per_minute(browser, seconds)
        finally:
            await browser.close()
        figure("JavaScript portal (Playwright + Chromium), pages/minute/worker", f"{js_per_minute:,.0f}")
        figure("Chromium resident memory per worker (peak)", f"{peak / 2**20:,.0f} MiB")
    content = _policy_pdf()
    parse_policy(content, max_bytes=10_000_000, max_pages=40)  # warm the imports
    samples = []
    for _ in range(documents):
        t = time.perf_counter()
        parse_policy(content, max_bytes=10_000_000, max_pages=40)
        samples.append(time.perf_counter() - t)
    p = percentiles(samples)
    figure("5-page policy PDF parse p50 / p99", f"{p['p50']:.0f} / {p['p99']:.0f} ms")
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000
    checks.add("5-page policy PDF parse, p95", f"{p95:.0f} ms", f"<= {PDF_P95_MS:g} ms", p95 <= PDF_P95_MS)
    return checks.report()


async def bench_scraper(seconds: float = 10.0, documents: int = 40) -> list[str]:
    heading("scraper: pages per minute per worker against the demo portals, PDF parse, browser memory")
    return await _bench(seconds, documents)
