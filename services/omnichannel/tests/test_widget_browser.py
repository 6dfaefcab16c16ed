"""The customer chat page in headless Chromium (Debian's build, installed by `make browser`)
chatting with an agent's WebSocket client, across two replicas; and embedded in a frame by the
broker's website, which only the configured origins may do."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.async_api import BrowserContext, async_playwright
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys

from .conftest import Api, build_app, make_settings
from .fakes import FakeSendGrid, FakeTwilio, SendGridSigner, ThreadedServer
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
                await page.wait_for_selector("body[data-state='conectado']", timeout=30_000)
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
                    await page.wait_for_selector("#typing:has-text('escribiendo')", timeout=30_000)
                    await agent_ws.send({"type": "message", "body": "Claro, ¿qué número de póliza tiene?"})
                    await page.wait_for_selector(".msg.agent:has-text('número de póliza')", timeout=30_000)

                    # A reload resumes the conversation: every message once, in order.
                    await page.reload()
                    await page.wait_for_selector("body[data-state='conectado']", timeout=30_000)
                    await page.wait_for_selector(".msg.agent:has-text('número de póliza')", timeout=30_000)
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


async def test_an_expired_session_returns_to_the_sign_in_form(
    api: Api, replicas: list[str], chromium: str, keys: TestKeys
) -> None:
    expired = keys.token(role=Role.customer, expires_in=-60)
    with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=ARGS, headless=True
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                sockets: list[str] = []
                page.on("websocket", lambda ws: sockets.append(ws.url))
                await page.goto(f"{replicas[0]}/chat/widget#token={expired}")
                await page.wait_for_selector("body[data-state='sesión caducada']", timeout=30_000)
                assert await page.is_visible("#login") and not await page.is_visible("#chat")
                assert sockets == [], "no socket is opened with a dead token"
                assert await page.evaluate("sessionStorage.getItem('aintech.chat.token')") is None
            finally:
                await browser.close()


def website() -> ThreadedServer:
    """A broker's web page that embeds the chat widget (``?widget=<url>``) in an iframe."""

    async def home(request: Request) -> HTMLResponse:
        src = html.escape(request.query_params["widget"])
        return HTMLResponse(f'<!doctype html><title>Seguros</title><iframe id="chat" src="{src}"></iframe>')

    return ThreadedServer(Starlette(routes=[Route("/", home)]))


async def framed_widget_state(browser: BrowserContext, site: str, widget: str) -> str:
    """What the widget inside the site's iframe shows: its connection state, or ``blocked``."""
    page = await browser.new_page()
    try:
        await page.goto(f"{site}/?{urlencode({'widget': widget})}", wait_until="load")
        iframe = await page.wait_for_selector("#chat")
        frame = await iframe.content_frame() if iframe else None
        assert frame is not None
        if not frame.url.startswith(widget.split("#", 1)[0]):
            return "blocked"  # Chromium replaced the refused document with its error page
        await frame.wait_for_selector("body[data-state='conectado']", timeout=30_000)
        return str(await frame.get_attribute("body", "data-state"))
    finally:
        await page.close()


async def test_the_widget_can_be_framed_only_by_the_configured_origins(
    api: Api,
    chromium: str,
    keys: TestKeys,
    twilio: FakeTwilio,
    sendgrid: FakeSendGrid,
    signer: SendGridSigner,
) -> None:
    allowed, other = website(), website()
    service = ThreadedServer(
        build_app(make_settings(twilio, sendgrid, signer, widget_origins=[allowed.url]), keys), lifespan="on"
    )
    for server in (allowed, other, service):
        server.start()
    customer = api.person(Role.customer)
    widget = f"{service.url}/chat/widget#token={customer.token}"
    try:
        with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch_persistent_context(
                    profile, executable_path=chromium, args=ARGS, headless=True
                )
                try:
                    assert await framed_widget_state(browser, allowed.url, widget) == "conectado"
                    assert await framed_widget_state(browser, other.url, widget) == "blocked"
                finally:
                    await browser.close()
    finally:
        for server in (allowed, other, service):
            server.stop()
