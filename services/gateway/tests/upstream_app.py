"""A stand-in for the fleet behind a real gateway process in the gateway's tests.

One process, built like every service (the chassis' app factory, served with the chassis' uvicorn
configuration), listening on the ports of the authenticator, core-crm, telephony and omnichannel
(plus the test's port offset), so the gateway routes to it exactly as to the real services.

Run: python upstream_app.py <port offset> <jwks file>
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.convertors import Convertor, register_url_convertor

from aintech_contracts.fleet import BY_NAME
from aintech_shared.app import create_service_app
from aintech_shared.serve import config
from aintech_shared.settings import ServiceSettings

SERVED = ("authenticator", "core_crm", "telephony", "omnichannel")


class NoTrailingSlash(Convertor[str]):
    regex = ".*[^/]"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("no_trailing_slash", NoTrailingSlash())


class StandInSettings(ServiceSettings, service="omnichannel"):
    """The stand-in's settings (its schema and name do not matter: it uses no database)."""


def build(jwks: dict[str, Any]) -> Any:
    app = create_service_app(
        StandInSettings(), title="AINTECH stand-in", description="Test upstream", with_database=False
    )
    closes: list[dict[str, Any]] = []

    @app.get("/.well-known/jwks.json")
    async def keys() -> dict[str, Any]:
        return jwks

    @app.api_route("/boom", methods=["GET", "POST"])
    async def boom() -> None:
        raise RuntimeError("an unexpected failure inside the service")

    @app.get("/me")
    async def me() -> dict[str, str]:
        return {"me": "yes"}

    @app.get("/redirect-absolute")
    async def redirect_absolute(request: Request) -> RedirectResponse:
        return RedirectResponse(f"http://{request.headers['host']}/me?x=1", status_code=307)

    @app.get("/redirect-external")
    async def redirect_external() -> RedirectResponse:
        return RedirectResponse("https://accounts.google.com/o/oauth2/v2/auth?x=1", status_code=302)

    @app.get("/identity")
    async def identity(request: Request) -> dict[str, Any]:
        from aintech_shared.edge import edge_identity

        who = await edge_identity(request)
        return {"user_id": who.user_id, "session_id": who.session_id, "role": who.role}

    @app.get("/stream")
    async def stream(n: int = 4) -> StreamingResponse:
        async def parts() -> Any:
            for i in range(n):
                yield f"part {i}\n".encode()
                await asyncio.sleep(0.05)

        return StreamingResponse(parts(), media_type="text/plain")

    # The gateway's side of the connection (its upstream keep-alive pool tests).
    @app.get("/peer")
    async def peer(request: Request) -> dict[str, Any]:
        return {"port": request.client.port if request.client else None}

    @app.get("/peer-then-close")
    async def peer_then_close(request: Request) -> JSONResponse:
        port = request.client.port if request.client else None
        return JSONResponse({"port": port}, headers={"Connection": "close"})

    @app.get("/no-content")
    async def no_content() -> Response:
        return Response(status_code=204, headers={"X-Kind": "empty"})

    @app.get("/not-modified")
    async def not_modified() -> Response:
        return Response(status_code=304, headers={"ETag": '"v1"'})

    @app.get("/cors-wide")
    async def cors_wide() -> JSONResponse:
        return JSONResponse({}, headers={"Access-Control-Allow-Origin": "*"})

    # Content-Security-Policy chosen by the caller (the frame policy tests).
    @app.get("/own-policy")
    async def own_policy(csp: str) -> JSONResponse:
        return JSONResponse({}, headers={"Content-Security-Policy": csp})

    @app.get("/ws-closes")
    async def ws_closes() -> list[dict[str, Any]]:
        return closes

    @app.websocket("/ws/chat/{room}")
    async def chat(websocket: WebSocket, room: str) -> None:
        offered = websocket.scope.get("subprotocols") or []
        await websocket.accept(subprotocol=offered[0] if offered else None)
        headers = {k: v for k, v in websocket.headers.items() if k.startswith(("x-", "authorization"))}
        await websocket.send_json({"room": room, "headers": headers, "query": websocket.url.query})
        try:
            while True:
                text = await websocket.receive_text()
                if text.startswith("close:"):
                    await websocket.close(code=int(text.split(":")[1]), reason="asked to")
                    return
                await websocket.send_text(f"echo:{text}")
        except WebSocketDisconnect as exc:
            closes.append({"room": room, "code": exc.code})

    # Every other path echoes, except paths ending in "/": those get FastAPI's own redirect_slashes
    # behaviour (a 307 to the path without the slash), as in every real service.
    @app.api_route(
        "/{path:no_trailing_slash}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    )
    async def echo(path: str, request: Request) -> dict[str, Any]:
        body = await request.body()
        return {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode("latin-1"),
            "query": request.url.query,
            "body_length": len(body),
            "headers": {k: v for k, v in request.headers.items()},
        }

    return app


async def main(offset: int, jwks: dict[str, Any]) -> None:
    app = build(jwks)
    sockets = []
    for name in SERVED:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", BY_NAME[name].port + offset))
        sockets.append(sock)
    server = uvicorn.Server(config(app, StandInSettings()))
    await server.serve(sockets=sockets)


if __name__ == "__main__":
    import uvloop  # as uvicorn picks it for every service

    uvloop.run(main(int(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())))
