"""The quote engine's rating, in process: a comparison across 20 products (every cover level).

The twelve illustrative tariffs plus eight copies under other product codes make 20 products
(80 product × cover-level ratings per comparison), with the receipt taxes of the migration. Only
the pure engine is timed (no database, no HTTP): the figure the issue's "p99 ≤ 20 ms in process"
target is about. The through-the-gateway target is measured by ``bench/edge.py``.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

from bench.common import Checks, figure, heading, percentiles
from quote_engine.quotes.schemas import AutoRisk
from quote_engine.rating.engine import rate_covers
from quote_engine.rating.tariff import ReceiptTax, TariffDefinition
from quote_engine.tariffs.illustrative import all_tariffs

COMPARE_P99_MS = 20.0
D = Decimal
TAXES = [
    ReceiptTax(code="ips", name="IPS", kind="percent_of_net", rate=D(8), exempt_lines=("life", "health"),
               valid_from=date(2017, 6, 29), legal_reference="Ley 13/1996"),
    ReceiptTax(code="cre_auto", name="Consorcio", kind="fixed_per_vehicle",
               amounts={"car": D("2.10"), "motorcycle": D("1.20")}, lines=("auto",),
               valid_from=date(2016, 1, 1), legal_reference="RDL 7/2004"),
    ReceiptTax(code="fg", name="Fondo de Garantía", kind="percent_of_compulsory_rc", rate=D("1.5"),
               lines=("auto",), valid_from=date(2016, 1, 1), legal_reference="RDL 8/2004"),
    ReceiptTax(code="clea", name="CLEA", kind="percent_of_net", rate=D("0.15"),
               valid_from=date(2016, 1, 1), legal_reference="RDL 7/2004"),
]  # fmt: skip


def products() -> list[TariffDefinition]:
    documents = [t for t in all_tariffs() if t["line"] == "auto"]
    out = [TariffDefinition.model_validate(d) for d in documents]
    n = 0
    while len(out) < 20:
        copy = dict(documents[n % len(documents)], product_code=f"bench-{n}-auto")
        out.append(TariffDefinition.model_validate(copy))
        n += 1
    return out


def bench_quotes(comparisons: int = 2000) -> list[str]:
    heading(f"quote engine: compare across 20 products in process ({comparisons} comparisons)")
    tariffs = products()
    risk = AutoRisk.model_validate(
        {"line": "auto", "postal_code": "28013", "driver_age": 20, "years_licensed": 1,
         "vehicle_power_hp": 110, "vehicle_age": 3, "km_per_year": 12000}
    ).fields()  # fmt: skip
    on = date(2026, 3, 1)

    codes = {t.product_code: [c.code for c in t.cover_levels] for t in tariffs}

    def compare() -> int:  # as the service compares: every cover level of a product at once
        return sum(len(rate_covers(t, codes[t.product_code], risk, taxes=TAXES, on=on)) for t in tariffs)

    for _ in range(50):
        compare()
    latencies = []
    cpu0 = time.process_time()
    for _ in range(comparisons):
        t = time.perf_counter()
        compare()
        latencies.append(time.perf_counter() - t)
    cpu_ms = (time.process_time() - cpu0) * 1000 / comparisons
    p = percentiles(latencies)
    figure("ratings per comparison", str(sum(len(t.cover_levels) for t in tariffs)))
    figure("p50 / p99 (wall)", f"{p['p50']:.2f} / {p['p99']:.2f} ms")
    figure("CPU per comparison (process time, steadier on a shared machine)", f"{cpu_ms:.2f} ms")
    checks = Checks("quotes")
    target = f"<= {COMPARE_P99_MS:g} ms"
    checks.add(
        "compare across 20 products, p99 in process", f"{p['p99']:.2f} ms", target, p["p99"] <= COMPARE_P99_MS
    )
    return checks.report()
