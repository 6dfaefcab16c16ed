"""The customer chat page in headless Chromium (Debian's build, installed by `make browser`)
chatting with an agent's WebSocket client, across two replicas."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from aintech_contracts.rbac import Role

from .conftest import Api
from .sockets import Socket, ws_url

ROOT = Path(__file__).resolve().parents[3]
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


@pytest.fixture(scope="session")
def chromium() -> str:
    if shutil.which("chromium") is None:
        subprocess.run(["make", "browser"], cwd=ROOT, check=True)
    assert Path(CHROMIUM).exists(), "make browser did not install Debian's chromium"
    return CHROMIUM


async def test_customer_chats_from_the_page_with_an_agent(
    api: Api, replicas: list[str], chromium: str
) -> None:
    customer, agent = api.person(Role.customer), api.person(Role.agent)
    await api.client.put("/agents/me/presence", json={"status": "online", "capacity": 3}, headers=agent.auth)
    page_replica, agent_replica = replicas
    with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
        async with async_playwright() as pw:
            # A fresh profile directory per run (Playwright passes it as --user-data-dir).
            browser = await pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=ARGS, headless=True
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                await page.goto(f"{page_replica}/chat/widget#token={customer.token}")
                await page.wait_for_selector("body[data-state='conectado']", timeout=15000)
                conversation_id = await page.get_attribute("body", "data-conversation")

                agent_ws = await Socket.open(
                    ws_url(agent_replica, f"/ws/chat/{conversation_id}"), agent.token
                )
                try:
                    await page.fill("#text", "Hola, necesito ayuda con mi póliza")
                    await page.click("#send")
                    heard = await agent_ws.until(lambda f: f["type"] == "message")
                    assert heard["message"]["body"] == "Hola, necesito ayuda con mi póliza"
                    assert heard["message"]["sender_type"] == "customer"

                    await agent_ws.send({"type": "typing", "typing": True})
                    await page.wait_for_selector("#typing:has-text('escribiendo')", timeout=10000)
                    await agent_ws.send({"type": "message", "body": "Claro, ¿qué número de póliza tiene?"})
                    await page.wait_for_selector(".msg.agent:has-text('número de póliza')", timeout=10000)

                    # A reload resumes the conversation: every message once, in order.
                    await page.reload()
                    await page.wait_for_selector("body[data-state='conectado']", timeout=15000)
                    await page.wait_for_selector(".msg.agent:has-text('número de póliza')", timeout=10000)
                    texts = await page.locator(".msg").all_inner_texts()
                    assert texts == [
                        "Hola, necesito ayuda con mi póliza",
                        "Claro, ¿qué número de póliza tiene?",
                    ]
                    assert await page.locator(".event").count() >= 1  # "Un agente se ha unido"
                finally:
                    await agent_ws.close()
            finally:
                await browser.close()
