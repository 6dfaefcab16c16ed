"""A small OpenID Connect provider on 127.0.0.1 issuing real RS256-signed ID tokens.

It serves one tenant per path prefix (``/google``, ``/microsoft``): discovery, JWKS, an
``/authorize`` endpoint that redirects straight back with a code for the identity the test chose,
and a ``/token`` endpoint that checks the client secret and the PKCE verifier.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_SECRET = "fake-oidc-client-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PendingCode:
    client_id: str
    redirect_uri: str
    nonce: str
    code_challenge: str
    identity: dict[str, Any]


@dataclass
class FakeOIDC:
    base_url: str
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret
    next_identity: dict[str, Any] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    codes: dict[str, PendingCode] = field(default_factory=dict)
    # Misbehaviours a test can switch on: sign ID tokens some other way, or fail the token endpoint.
    id_token_signer: Callable[[dict[str, Any]], str] | None = None
    token_status: int | None = None
    kid: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    def issuer(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}"

    def discovery_url(self, tenant: str) -> str:
        return f"{self.issuer(tenant)}/.well-known/openid-configuration"

    def sign(self, claims: dict[str, Any], *, headers: dict[str, Any] | None = None) -> str:
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid, **(headers or {})})

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            issuer = self.issuer(request.path_params["tenant"])
            return JSONResponse(
                {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                }
            )

        async def jwks(_: Request) -> Response:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
            return JSONResponse({"keys": [jwk]})

        async def authorize(request: Request) -> Response:
            params = dict(request.query_params)
            self.authorize_requests.append(params)
            if params.get("client_id") not in self.clients or params.get("code_challenge_method") != "S256":
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = PendingCode(
                client_id=params["client_id"],
                redirect_uri=params["redirect_uri"],
                nonce=params["nonce"],
                code_challenge=params["code_challenge"],
                identity=dict(self.next_identity),
            )
            query = urlencode({"code": code, "state": params["state"]})
            return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            self.token_requests.append(form)
            if self.token_status is not None:
                return JSONResponse({"error": "temporarily_unavailable"}, status_code=self.token_status)
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None or pending.redirect_uri != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.code_challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE"}, status_code=400)
            tenant = request.path_params["tenant"]
            now = int(time.time())
            claims = {
                "iss": self.issuer(tenant),
                "aud": pending.client_id,
                "iat": now,
                "exp": now + 300,
                "nonce": pending.nonce,
                **pending.identity,
            }
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(24),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "id_token": self.id_token_signer(claims) if self.id_token_signer else self.sign(claims),
                }
            )

        return Starlette(
            routes=[
                Route("/{tenant}/.well-known/openid-configuration", discovery),
                Route("/{tenant}/jwks", jwks),
                Route("/{tenant}/authorize", authorize),
                Route("/{tenant}/token", token, methods=["POST"]),
            ]
        )


class ThreadedServer:
    """Runs an ASGI app with uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
