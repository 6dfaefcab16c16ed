"""The browser softphone joins its call's signalling room through the gateway in headless Chromium
(Debian's build, as `make browser` installs it), with the WebSocket subprotocols docs/telephony.md
documents: a browser cannot set headers, so the token travels as ``bearer.<token>`` beside
``aintech.signalling`` (or as the pair ``bearer, <token>`` docs/security-edge.md gives)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

from .conftest import ROOT, Fleet
from .test_telephony_signalling import sign_in

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# Opens the room as the softphone does and reports the selected subprotocol and the first frame
# (or the close code when the gateway refuses the upgrade).
JOIN = """
async ([url, protocols]) => await new Promise((resolve) => {
  const ws = new WebSocket(url, protocols);
  ws.onmessage = (event) => { resolve({protocol: ws.protocol, frame: JSON.parse(event.data)}); ws.close(); };
  ws.onclose = (event) => resolve({closed: event.code});
})
"""


def _chromium() -> str:
    if shutil.which("chromium") is None:
        subprocess.run(["make", "browser"], cwd=ROOT, check=True, timeout=600)
    assert Path(CHROMIUM).exists(), "make browser did not install Debian's chromium"
    return CHROMIUM


async def _call_in_progress(gw: httpx.AsyncClient, auth: dict[str, str]) -> str:
    ready = await gw.post("/api/telephony/agents/status", json={"status": "available"}, headers=auth)
    assert ready.status_code == 200, ready.text
    placed = await gw.post("/api/telephony/calls/initiate", json={"to": "+34 612 777 999"}, headers=auth)
    assert placed.status_code == 201, placed.text
    call_id = str(placed.json()["id"])
    deadline = time.monotonic() + 60
    while (await gw.get(f"/api/telephony/calls/{call_id}", headers=auth)).json()["status"] != "in-progress":
        assert time.monotonic() < deadline, "the console-simulated call never connected"
        await asyncio.sleep(0.2)  # polling the fleet's simulated call, which advances on its own
    return call_id


async def _softphone(fleet: Fleet) -> list[dict[str, Any]]:
    chromium = _chromium()
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=30) as gw:
        token, user_id = await sign_in(gw, "agent2@aintech.com")
        auth = {"Authorization": f"Bearer {token}"}
        call_id = await _call_in_progress(gw, auth)
        room = fleet.gateway.replace("http://", "ws://") + f"/ws/telephony/calls/{call_id}"
        try:
            with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
                async with async_playwright() as pw:
                    browser = await pw.chromium.launch_persistent_context(
                        profile, executable_path=chromium, args=ARGS, headless=True, bypass_csp=True
                    )
                    try:
                        page = await browser.new_page()
                        # A page of the platform's own origin, as the console that hosts the softphone.
                        await page.goto(f"{fleet.gateway}/healthz")
                        results = []
                        for protocols in (
                            ["aintech.signalling", f"bearer.{token}"],  # docs/telephony.md
                            ["bearer", token],  # docs/security-edge.md
                            ["aintech.signalling"],  # no token: refused
                        ):
                            results.append(await page.evaluate(JOIN, [room, protocols]))
                        results.append({"user_id": user_id, "call_id": call_id})
                        return results
                    finally:
                        await browser.close()
        finally:
            ended = await gw.post(f"/api/telephony/calls/{call_id}/end", headers=auth)
            assert ended.status_code == 200, ended.text
            # Not left available: later tests' queued callers must reach their own agents.
            away = await gw.post("/api/telephony/agents/status", json={"status": "offline"}, headers=auth)
            assert away.status_code == 200, away.text


def test_the_softphone_joins_with_the_documented_subprotocols(fleet: Fleet) -> None:
    dotted, pair, anonymous, who = asyncio.run(_softphone(fleet))
    joined = {"type": "joined", "call_id": who["call_id"], "user_id": who["user_id"], "peers": []}
    assert dotted == {"protocol": "aintech.signalling", "frame": joined}, dotted
    assert pair == {"protocol": "bearer", "frame": joined}, pair
    assert "closed" in anonymous and "frame" not in anonymous, anonymous
