"""WebSocket proxying: the client's socket and one to the service, relayed message by message.

The upgrade is accepted only after the service accepted its own (so a refusal there is a refusal
here, with its status). Each direction awaits its send before reading the next message, so a
slow reader slows its writer instead of filling memory (uvicorn and aiohttp both pause reading
when their buffers fill). Both sides are pinged (uvicorn towards the client, aiohttp's heartbeat
towards the service); a connection with no message either way for ``ws_idle_timeout`` is closed
with 1001, and one whose session is revoked with 1008. Close codes pass through both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import aiohttp
import structlog
from multidict import CIMultiDict
from starlette.types import Receive, Scope, Send
from yarl import URL

from aintech_shared.context import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, new_id
from aintech_shared.edge import IDENTITY_HEADER
from gateway.answers import refuse
from gateway.proxy import CLIENT_STRIPPED, HOP_BY_HOP, Forwarder
from gateway.settings import Settings
from gateway.upstreams import Target

log = structlog.get_logger("gateway.websocket")

_NOT_FORWARDED = HOP_BY_HOP | CLIENT_STRIPPED | {b"authorization", b"cookie"}
# Close codes that may not be sent in a close frame (RFC 6455 §7.4.1), and what to send instead.
_UNSENDABLE = {1004: 1011, 1005: 1000, 1006: 1011, 1015: 1011}


def sendable(code: int | None, *, default: int = 1000) -> int:
    """A close code that may go on the wire."""
    if code is None:
        return default
    if code in _UNSENDABLE:
        return _UNSENDABLE[code]
    if 1000 <= code <= 1014 or 3000 <= code <= 4999:
        return code
    return 1011


def credentials(scope: Scope) -> tuple[str | None, list[str], bool]:
    """The access token of an upgrade, the subprotocols to offer the service, and whether the client
    used ``Sec-WebSocket-Protocol: bearer, <token>``.

    A browser cannot set headers on a WebSocket, so the token travels as a subprotocol, in either
    documented form: the pair ``bearer, <token>`` first, or one ``bearer.<token>`` among the
    channel's own subprotocols (``aintech.signalling, bearer.<token>``, the softphone's form). The
    token is never offered to the service as a subprotocol: it gets ``Authorization`` instead.
    Removes ``access_token`` from the query string in the scope, so neither the service nor any
    access log sees it."""
    token: str | None = None
    offered = list(scope.get("subprotocols") or [])
    bearer = False
    if len(offered) >= 2 and offered[0].lower() == "bearer":
        token, offered, bearer = offered[1], offered[2:], True
    dotted = [p for p in offered if p[:7].lower() == "bearer." and len(p) > 7]
    if dotted:
        offered = [p for p in offered if p not in dotted]
        token = token or dotted[0][7:]
    query = scope.get("query_string", b"")
    if b"access_token" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if k != "access_token"]
        if token is None:
            token = next((v for k, v in pairs if k == "access_token"), None) or None
        scope["query_string"] = urlencode(kept).encode("latin-1")
    return token, offered, bearer


class WebSocketRelay:
    """Relays accepted WebSockets; closes those of revoked sessions."""

    def __init__(self, settings: Settings, forwarder: Forwarder) -> None:
        self.settings = settings
        self.forwarder = forwarder
        self._by_session: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def session_revoked(self, session_id: str) -> None:
        for event in self._by_session.get(session_id, ()):
            event.set()

    def _upstream_headers(self, scope: Scope, token: str, identity: str, request_id: str) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        host = ""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            if name in _NOT_FORWARDED or name.startswith(b"sec-websocket-"):
                continue
            headers.add(name.decode("latin-1"), value.decode("latin-1"))
        peer = scope["client"][0] if scope.get("client") else ""
        headers["Authorization"] = f"Bearer {token}"
        headers[IDENTITY_HEADER] = identity
        headers[REQUEST_ID_HEADER] = request_id
        headers[CORRELATION_ID_HEADER] = request_id
        headers["X-Forwarded-For"] = self.forwarder.proxies.forwarded_for(peer, None)
        headers["X-Forwarded-Host"] = host
        return headers

    async def run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        target: Target,
        *,
        token: str,
        offered: list[str],
        bearer: bool,
        session_id: str,
        user_id: str,
        sign: Callable[[str], str],
    ) -> None:
        """Open the service's socket, accept the client's, relay until either closes."""
        settings = self.settings
        request_id = new_id()
        identity = sign(request_id)
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        base = target.upstream.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        query = scope.get("query_string", b"")
        url = URL(base + target.path + ("?" + query.decode("latin-1") if query else ""), encoded=True)
        service = target.upstream.spec.slug
        try:
            upstream = await self.forwarder.session.ws_connect(
                url,
                headers=self._upstream_headers(scope, token, identity, request_id),
                protocols=offered,
                heartbeat=settings.ws_ping_interval,
                max_msg_size=settings.ws_max_message_bytes,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            )
        except aiohttp.WSServerHandshakeError as exc:
            status = exc.status if exc.status in (400, 401, 403, 404, 409, 410, 429) else 502
            await refuse(scope, receive, send, status, f"The {service} service refused the WebSocket.")
            return
        except (aiohttp.ClientError, TimeoutError):
            await refuse(
                scope,
                receive,
                send,
                502,
                f"The {service} service could not be reached.",
                title="Service unavailable",
                service=service,
            )
            return
        revoked = asyncio.Event()
        self._by_session[session_id].add(revoked)
        started = time.monotonic()
        try:
            subprotocol = upstream.protocol or ("bearer" if bearer else None)
            await send({"type": "websocket.accept", "subprotocol": subprotocol})
            closed_by, code = await self._relay(receive, send, upstream, revoked)
        finally:
            self._by_session[session_id].discard(revoked)
            if not self._by_session[session_id]:
                del self._by_session[session_id]
            if not upstream.closed:
                await upstream.close()
        log.info(
            "websocket_closed",
            path=scope["path"],
            service=service,
            user_id=user_id,
            closed_by=closed_by,
            code=code,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            request_id=request_id,
        )

    async def _relay(
        self, receive: Receive, send: Send, upstream: aiohttp.ClientWebSocketResponse, revoked: asyncio.Event
    ) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        last = loop.time()
        idle_timeout = self.settings.ws_idle_timeout

        async def from_client() -> tuple[str, int, str]:
            nonlocal last
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    last = loop.time()
                    text = message.get("text")
                    if text is not None:
                        await upstream.send_str(text)
                    else:
                        await upstream.send_bytes(message.get("bytes") or b"")
                elif kind == "websocket.disconnect":
                    code = message.get("code", 1000)
                    return "client", 1001 if code == 1006 else code, message.get("reason") or ""

        async def from_upstream() -> tuple[str, int, str]:
            nonlocal last
            while True:
                message = await upstream.receive()
                if message.type is aiohttp.WSMsgType.TEXT:
                    last = loop.time()
                    await send({"type": "websocket.send", "text": message.data})
                elif message.type is aiohttp.WSMsgType.BINARY:
                    last = loop.time()
                    await send({"type": "websocket.send", "bytes": message.data})
                elif message.type is aiohttp.WSMsgType.CLOSE:
                    return "service", message.data, message.extra or ""
                elif message.type is aiohttp.WSMsgType.ERROR:
                    too_big = isinstance(message.data, aiohttp.WebSocketError) and message.data.code == 1009
                    return "service", 1009 if too_big else 1011, "upstream error"
                elif message.type in (aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED):
                    return "service", upstream.close_code or 1006, ""

        async def watchdog() -> tuple[str, int, str]:
            while True:
                remaining = last + idle_timeout - loop.time()
                if remaining <= 0:
                    return "idle", 1001, "idle timeout"
                await asyncio.sleep(remaining)

        async def on_revoke() -> tuple[str, int, str]:
            await revoked.wait()
            return "revoked", 1008, "session signed out"

        tasks = [asyncio.ensure_future(c()) for c in (from_client, from_upstream, watchdog, on_revoke)]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        first = next(iter(done))
        try:
            closed_by, code, reason = first.result()
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            closed_by, code, reason = "error", 1011, "relay error"
        if closed_by != "client":
            with contextlib.suppress(Exception):
                await send({"type": "websocket.close", "code": sendable(code), "reason": reason[:120]})
        if closed_by != "service":
            with contextlib.suppress(Exception):
                await upstream.close(code=sendable(code, default=1001), message=reason[:120].encode())
        return closed_by, code
