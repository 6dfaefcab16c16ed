"""The API pages render in headless Chromium with no internet: Swagger UI's scripts and styles come
from the platform (the gateway's `/docs`, and a service's own `/docs` on its port), never a CDN."""

from __future__ import annotations

import httpx
import pytest

from aintech_devtools.browser import OfflinePage, chromium_executable, offline_page
from aintech_shared.docs import DOCS_CSP

from .conftest import ROOT, Gateway


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_executable(ROOT)


async def _operations_listed(seen: OfflinePage, url: str) -> list[str]:
    """Open ``url``; wait for Swagger UI to list operations; their paths as shown."""
    await seen.page.goto(url)
    await seen.page.wait_for_selector(".opblock .opblock-summary-path", state="visible", timeout=20000)
    paths = await seen.page.locator(".opblock .opblock-summary-path").all_inner_texts()
    return [p.replace("\u200b", "").strip() for p in paths]


async def test_the_platform_api_page_renders_offline(gateway: Gateway, chromium: str) -> None:
    async with offline_page(chromium) as seen:
        listed = await _operations_listed(seen, f"{gateway.url}/docs")
        assert "/api/auth/.well-known/jwks.json" in listed  # a service's operation, merged in
        assert seen.refused == [], f"the page asked the internet for {seen.refused}"
        assert f"{gateway.url}/docs/assets/swagger-ui-bundle.js" in seen.requested
        assert f"{gateway.url}/openapi.json" in seen.requested
        assert not [e for e in seen.console_errors if "Content Security Policy" in e], seen.console_errors
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{gateway.url}/docs")
        assert page.headers["content-security-policy"] == DOCS_CSP
        assert "cdn.jsdelivr.net" not in page.text


async def test_a_service_api_page_renders_offline(gateway: Gateway, chromium: str) -> None:
    service = gateway.service_url("core_crm")  # the stand-in: the chassis app on core-crm's port
    async with offline_page(chromium) as seen:
        listed = await _operations_listed(seen, f"{service}/docs")
        assert "/.well-known/jwks.json" in listed
        assert seen.refused == [], f"the page asked the internet for {seen.refused}"
        assert f"{service}/docs/assets/swagger-ui.css" in seen.requested
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{service}/docs/assets/swagger-ui-bundle.js")).status_code == 200
        assert (await client.get(f"{gateway.url}/docs/assets/swagger-ui-bundle.js")).status_code == 200
        redoc = await client.get(f"{gateway.url}/redoc")
        assert "/docs/assets/redoc.standalone.js" in redoc.text and "fonts.googleapis" not in redoc.text
