"""quote_engine HTTP API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aintech_shared.app import create_service_app
from quote_engine.core.runtime import build_runtime
from quote_engine.optimax.router import router as optimax_router
from quote_engine.pricing.router import router as pricing_router
from quote_engine.quotes.router import router as quotes_router
from quote_engine.settings import Settings
from quote_engine.tariffs.router import router as tariffs_router

DESCRIPTION = """
Rating: carrier tariffs as data, explained premiums, carrier comparison. Reached through the gateway
at `/api/quotes/...`.

* **Tariffs** are effective-dated versions of a carrier product (base rates by zone, banded factor
  tables, discounts and surcharges, minimum and cap); several are live at once and each quote pins
  the version it used. Sex is never a rating factor (CJEU Test-Achats).
* **The receipt**: net premium, then IPS, Consorcio (extraordinary risks, Fondo de Garantía) and
  CLEA, each a dated row with its legal reference (`GET /tariffs/taxes`).
* **Explanations**: every line (table, row, input, factor, amount, running total) sums to the total.
* **Money** is a decimal string (`"612.40"`), dates ISO 8601. Errors are RFC 9457
  `application/problem+json` naming the field (or the file's row).
* The tariffs shipped with the demo are **illustrative**, not the carriers' real tariffs.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the quote-engine application."""
    settings = settings or Settings()

    @asynccontextmanager
    async def runtime_hook(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = build_runtime(settings)
        yield

    return create_service_app(
        settings,
        title="AINTECH quote-engine",
        description=DESCRIPTION,
        routers=[tariffs_router, pricing_router, optimax_router, quotes_router],
        lifespan_hooks=[runtime_hook],
    )
