"""Live omnichannel through the gateway on the booted fleet: the chat widget page served by the
gateway in headless Chromium (the customer signs in on it) chatting with an agent's WebSocket client,
both ways, with typing and reconnects that lose and double nothing; a CRM event pushed live to the
notification socket; an inbound WhatsApp message pushed live to the agents' inbox socket."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, async_playwright
from twilio.request_validator import RequestValidator
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from omnichannel.settings import DEV_TWILIO_AUTH_TOKEN

from .conftest import Fleet

ROOT = Path(__file__).resolve().parents[2]
SEED_PASSWORD = "Aintech-Demo-2026!"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


class Socket:
    """A WebSocket client through the gateway that answers the service's pings."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, fleet: Fleet, path: str, token: str) -> Socket:
        url = fleet.gateway.replace("http://", "ws://") + path
        return cls(await connect(url, subprotocols=["bearer", token], open_timeout=30))  # type: ignore[list-item]

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def until(self, match: Callable[[dict[str, Any]], bool], *, within: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), remaining))
            except TimeoutError:
                break
            if frame.get("type") == "ping":
                await self.send({"type": "pong"})
            elif match(frame):
                return frame
        raise AssertionError(f"no matching frame within {within}s")

    async def close(self) -> None:
        await self.connection.close()


async def sign_in(gw: httpx.AsyncClient, email: str) -> tuple[str, uuid.UUID]:
    """An access token from /api/auth/login and the user id it carries."""
    response = await gw.post("/api/auth/login", json={"email": email, "password": SEED_PASSWORD})
    assert response.status_code == 200, response.text
    token = str(response.json()["access_token"])
    return token, uuid.UUID(sign_in_claims(token)["sub"])


def sign_in_claims(token: str) -> dict[str, Any]:
    """The claims of an access token (read, not verified: the services verify it)."""
    claims = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    return decoded


@pytest.fixture
async def gw(fleet: Fleet) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fleet.gateway, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def chromium() -> str:
    if shutil.which("chromium") is None:
        subprocess.run(["make", "browser"], cwd=ROOT, check=True, timeout=600)
    assert Path(CHROMIUM).exists(), "make browser did not install Debian's chromium"
    return CHROMIUM


async def shown(page: Page) -> list[str]:
    return await page.locator(".msg:not(.pending)").all_inner_texts()


async def test_customer_in_chromium_chats_with_an_agent_through_the_gateway(
    fleet: Fleet, gw: httpx.AsyncClient, chromium: str
) -> None:
    agent_token, _ = await sign_in(gw, "agent1@aintech.com")
    online = await gw.put(
        "/api/omnichannel/agents/me/presence",
        json={"status": "online", "capacity": 5},
        headers={"Authorization": f"Bearer {agent_token}"},
    )
    assert online.status_code == 200, online.text
    tag = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory(prefix="aintech-chromium-") as profile:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=ARGS, headless=True
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                widget = await page.goto(f"{fleet.gateway}/api/omnichannel/chat/widget")
                assert widget is not None and widget.status == 200
                csp = widget.headers["content-security-policy"]
                assert "frame-ancestors 'self'" in csp and "'unsafe-inline'" not in csp
                # The customer signs in on the page itself (POST /api/auth/login through the gateway).
                await page.fill("#email", "customer1@aintech.com")
                await page.fill("#password", SEED_PASSWORD)
                await page.click("#login-button")
                await page.wait_for_selector("body[data-state='conectado']", timeout=30_000)
                conversation_id = await page.get_attribute("body", "data-conversation")
                assert conversation_id

                agent = await Socket.open(fleet, f"/ws/omnichannel/chat/{conversation_id}", agent_token)
                await agent.until(lambda f: f["type"] == "hello")
                try:
                    await page.fill("#text", f"Hola, soy cliente {tag}")
                    await page.click("#send")
                    heard = await agent.until(
                        lambda f: f["type"] == "message" and tag in f["message"]["body"]
                    )
                    assert heard["message"]["body"] == f"Hola, soy cliente {tag}"
                    assert heard["message"]["sender_type"] == "customer"
                    last_seq = heard["seq"]

                    await agent.send({"type": "typing", "typing": True})
                    await page.wait_for_selector("#typing:has-text('escribiendo')", timeout=30_000)
                    await agent.send(
                        {"type": "message", "body": f"Buenos días {tag}", "client_id": f"a-{tag}"}
                    )
                    ack = await agent.until(lambda f: f["type"] == "ack")
                    assert ack["client_id"] == f"a-{tag}"
                    await page.wait_for_selector(f".msg.agent:has-text('Buenos días {tag}')", timeout=30_000)
                    last_seq = ack["seq"]
                finally:
                    await agent.close()

                # The agent is away: the customer writes twice. The agent comes back after its
                # last seq and gets exactly those two, once each, in order, then live ones.
                for text in (f"¿Sigue ahí? {tag}", f"Es por la póliza de hogar {tag}"):
                    await page.fill("#text", text)
                    await page.click("#send")
                    await page.wait_for_selector(
                        f".msg.customer:not(.pending):has-text('{text}')", timeout=30_000
                    )
                agent = await Socket.open(
                    fleet, f"/ws/omnichannel/chat/{conversation_id}?after={last_seq}", agent_token
                )
                try:
                    assert (await agent.until(lambda f: f["type"] == "hello"))["resume_from"] == last_seq
                    missed = [await agent.until(lambda f: f["type"] == "message") for _ in range(2)]
                    assert [m["message"]["body"] for m in missed] == [
                        f"¿Sigue ahí? {tag}",
                        f"Es por la póliza de hogar {tag}",
                    ]
                    assert [m["seq"] for m in missed] == sorted({m["seq"] for m in missed})
                    assert missed[0]["seq"] > last_seq
                    # A retried client_id is acknowledged with the same message, not stored twice.
                    for _ in range(2):
                        await agent.send(
                            {"type": "message", "body": f"Lo reviso {tag}", "client_id": f"b-{tag}"}
                        )
                    acks = [await agent.until(lambda f: f["type"] == "ack") for _ in range(2)]
                    assert acks[0]["message_id"] == acks[1]["message_id"]
                finally:
                    await agent.close()

                # The customer's page reloads (a reconnect from scratch): the conversation resumes
                # with every message of this chat once, in order.
                await page.reload()
                await page.wait_for_selector("body[data-state='conectado']", timeout=30_000)
                await page.wait_for_selector(f".msg.agent:has-text('Lo reviso {tag}')", timeout=30_000)
                ours = [t for t in await shown(page) if tag in t]
                assert ours == [
                    f"Hola, soy cliente {tag}",
                    f"Buenos días {tag}",
                    f"¿Sigue ahí? {tag}",
                    f"Es por la póliza de hogar {tag}",
                    f"Lo reviso {tag}",
                ]

                # The access token runs out (15 minutes): the page renews it with its refresh token
                # (rotated) instead of reconnecting forever with a dead one.
                before = await page.evaluate("sessionStorage.getItem('aintech.chat.refresh')")
                expired = "e30." + base64.urlsafe_b64encode(b'{"exp": 1}').decode().rstrip("=") + ".x"
                await page.evaluate(f"sessionStorage.setItem('aintech.chat.token', '{expired}')")
                await page.reload()
                await page.wait_for_selector("body[data-state='conectado']", timeout=30_000)
                renewed = await page.evaluate("sessionStorage.getItem('aintech.chat.token')")
                assert renewed != expired and sign_in_claims(renewed)["sub"]
                assert await page.evaluate("sessionStorage.getItem('aintech.chat.refresh')") not in (
                    None,
                    before,
                )
                await page.wait_for_selector(f".msg.agent:has-text('Lo reviso {tag}')", timeout=30_000)
            finally:
                await browser.close()


async def test_chat_sockets_without_a_valid_token_or_for_an_unknown_chat_are_refused(
    fleet: Fleet, gw: httpx.AsyncClient
) -> None:
    customer_token, _ = await sign_in(gw, "customer1@aintech.com")
    mine = await gw.post(
        "/api/omnichannel/chat/conversations", json={}, headers={"Authorization": f"Bearer {customer_token}"}
    )
    assert mine.status_code in (200, 201), mine.text
    for token in ("not-a-token", None):
        with pytest.raises(InvalidStatus) as refused:
            url = fleet.gateway.replace("http://", "ws://") + f"/ws/omnichannel/chat/{mine.json()['id']}"
            async with connect(url, subprotocols=["bearer", token] if token else None, open_timeout=30):  # type: ignore[list-item]
                pass
        assert refused.value.response.status_code in (401, 403)
    with pytest.raises(InvalidStatus) as refused:
        await Socket.open(fleet, f"/ws/omnichannel/chat/{uuid.uuid4()}", customer_token)
    assert refused.value.response.status_code in (403, 404)


async def test_a_crm_task_is_pushed_live_to_the_assignees_notification_socket(
    fleet: Fleet, gw: httpx.AsyncClient
) -> None:
    agent_token, agent_id = await sign_in(gw, "agent1@aintech.com")
    auth = {"Authorization": f"Bearer {agent_token}"}
    socket = await Socket.open(fleet, "/ws/omnichannel/notifications", agent_token)
    try:
        before = (await socket.until(lambda f: f["type"] == "hello"))["unread"]
        title = f"Llamar al cliente {uuid.uuid4().hex[:6]}"
        created = await gw.post(
            "/api/crm/tasks", json={"title": title, "assigned_to": str(agent_id)}, headers=auth
        )
        assert created.status_code == 201, created.text
        # core-crm's outbox -> Kafka task.created -> omnichannel -> NOTIFY -> the socket, via the gateway.
        pushed = await socket.until(
            lambda f: f["type"] == "notification" and f["notification"]["title"] == f"Nueva tarea: {title}",
            within=60,
        )
        assert pushed["notification"]["kind"] == "task_assigned"
        assert pushed["notification"]["data"]["task_id"] == created.json()["id"]
        assert pushed["unread"] >= before + 1
    finally:
        await socket.close()
    listed = (await gw.get("/api/omnichannel/notifications", params={"unread": "true"}, headers=auth)).json()
    assert any(n["id"] == pushed["notification"]["id"] for n in listed["items"])


async def test_an_inbound_whatsapp_message_is_pushed_to_the_inbox_socket(
    fleet: Fleet, gw: httpx.AsyncClient
) -> None:
    agent_token, _ = await sign_in(gw, "agent1@aintech.com")
    customer_token, _ = await sign_in(gw, "customer1@aintech.com")
    with pytest.raises(InvalidStatus) as refused:
        await Socket.open(fleet, "/ws/omnichannel/inbox", customer_token)
    assert refused.value.response.status_code == 403, "the inbox is for staff"

    socket = await Socket.open(fleet, "/ws/omnichannel/inbox", agent_token)
    try:
        await socket.until(lambda f: f["type"] == "hello")
        number = "+346" + str(uuid.uuid4().int)[:8]
        params = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "From": f"whatsapp:{number}",
            "To": "whatsapp:+14155238886",
            "Body": "¿Está mi póliza activa?",
        }
        signature = RequestValidator(DEV_TWILIO_AUTH_TOKEN).compute_signature(
            f"{fleet.gateway}/webhooks/twilio/messaging", params
        )
        accepted = await gw.post(
            "/webhooks/twilio/messaging", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert accepted.status_code == 200, accepted.text
        created = await socket.until(
            lambda f: f["type"] == "message.created" and f["message"]["from_address"] == number
        )
        assert created["message"]["body"] == "¿Está mi póliza activa?"
        assert created["message"]["channel"] == "whatsapp"
    finally:
        await socket.close()
