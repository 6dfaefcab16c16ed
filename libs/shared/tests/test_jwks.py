"""JWKS fetched over HTTP from a loopback server: cached, refreshed on key rotation, failure modes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.auth import JWKSCache, TokenVerifier
from aintech_shared.errors import ServiceUnavailable, Unauthorized

ISSUER, AUDIENCE = "https://auth.aintech.test", "aintech-api"


class JWKSServer:
    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.hits = 0
        self.fail = False
        self.url = ""


@pytest.fixture
async def jwks_server() -> AsyncIterator[JWKSServer]:
    state = JWKSServer()

    async def serve(_: web.Request) -> web.Response:
        state.hits += 1
        if state.fail:
            return web.Response(status=503)
        return web.json_response(state.jwks)

    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_keys_are_fetched_once_and_rotation_is_picked_up(jwks_server: JWKSServer) -> None:
    old = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    jwks_server.jwks = old.jwks()
    cache = JWKSCache(jwks_server.url, min_refresh_interval=0.0)
    verifier = TokenVerifier(cache, issuer=ISSUER, audience=AUDIENCE)

    for _ in range(5):
        assert (await verifier.verify(old.token(role=Role.agent, sub="a1"))).user_id == "a1"
    assert jwks_server.hits == 1, "verification is local after the first fetch"

    new = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    jwks_server.jwks = {"keys": old.jwks()["keys"] + new.jwks()["keys"]}  # rotation keeps the old key
    assert (await verifier.verify(new.token(sub="b2"))).user_id == "b2"
    assert jwks_server.hits == 2, "an unknown kid triggers one refetch"
    assert (await verifier.verify(old.token(sub="a1"))).user_id == "a1"
    assert jwks_server.hits == 2


async def test_unknown_kid_refetch_is_rate_limited(jwks_server: JWKSServer) -> None:
    known = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    jwks_server.jwks = known.jwks()
    cache = JWKSCache(jwks_server.url, min_refresh_interval=60.0)
    verifier = TokenVerifier(cache, issuer=ISSUER, audience=AUDIENCE)
    await verifier.verify(known.token())
    stranger = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    for _ in range(3):
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(stranger.token())
    assert jwks_server.hits == 1, "forged kids cannot make us hammer the authenticator"


async def test_unreachable_jwks_is_503_not_401(jwks_server: JWKSServer) -> None:
    jwks_server.fail = True
    keys = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    verifier = TokenVerifier(JWKSCache(jwks_server.url), issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(ServiceUnavailable):
        await verifier.verify(keys.token())
