"""Headless Chromium for the browser tests: Debian's build (installed by `make browser`), offline.

Every request the page makes is recorded; any that would leave loopback is aborted, so a page that
depends on the internet fails its test here instead of on a user's machine without internet.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Route, async_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def chromium_executable(root: Path) -> str:
    """Debian's chromium, installed with `make browser` (run from ``root``) when missing."""
    if shutil.which("chromium") is None:
        subprocess.run(["make", "browser"], cwd=root, check=True)
    assert Path(CHROMIUM).exists(), "make browser did not install Debian's chromium"
    return CHROMIUM


@dataclass
class OfflinePage:
    """A page whose every request is recorded, with the ones that would leave loopback refused."""

    page: Page
    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


@asynccontextmanager
async def offline_page(executable: str) -> AsyncIterator[OfflinePage]:
    """A fresh headless Chromium profile with one page that may talk to loopback only."""
    with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
        async with async_playwright() as pw:
            context: BrowserContext = await pw.chromium.launch_persistent_context(
                profile, executable_path=executable, args=ARGS, headless=True
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                seen = OfflinePage(page)

                async def guard(route: Route) -> None:
                    url = route.request.url
                    seen.requested.append(url)
                    parts = urlsplit(url)
                    if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOOPBACK:
                        seen.refused.append(url)
                        await route.abort("internetdisconnected")
                        return
                    await route.continue_()

                await context.route("**/*", guard)
                page.on(
                    "console", lambda m: seen.console_errors.append(m.text) if m.type == "error" else None
                )
                yield seen
            finally:
                await context.close()
