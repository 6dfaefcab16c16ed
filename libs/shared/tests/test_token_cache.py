"""The verified-token cache: a hit never outlives the token, the key, or a single changed byte."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jwt
import pytest

from aintech_contracts.rbac import Role
from aintech_devtools.testing import TestKeys
from aintech_shared.auth import JWKSCache, TokenVerifier
from aintech_shared.errors import Unauthorized

ISSUER, AUDIENCE = "https://auth.aintech.test", "aintech-api"


@pytest.fixture(scope="module")
def keys() -> TestKeys:
    return TestKeys(issuer=ISSUER, audience=AUDIENCE)


def verifier_for(keys: TestKeys, *, leeway: float = 10.0, cache_size: int = 4096) -> TokenVerifier:
    cache = JWKSCache("http://127.0.0.1:9/unused")
    cache.set_keys(keys.jwks())
    cache.ttl = float("inf")
    return TokenVerifier(cache, issuer=ISSUER, audience=AUDIENCE, leeway=leeway, cache_size=cache_size)


async def test_a_cached_token_is_refused_once_it_expires(keys: TestKeys) -> None:
    verifier = verifier_for(keys, leeway=0)
    while True:
        # Its ``exp`` is a whole second, so a one-second token can have only a few milliseconds left
        # when first verified: on a slow machine its lifetime may run out before that. Only the clock
        # may refuse it then, and a fresh one is made; any other refusal fails the test.
        token = keys.token(role=Role.agent, sub="u1", expires_in=1)
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        try:
            principal = await verifier.verify(token)
        except Unauthorized:
            assert time.time() >= exp, "a live token was refused"
            continue
        break
    assert principal.user_id == "u1"
    assert len(verifier.verified) == 1, "the verified token is cached"
    await asyncio.sleep(max(0.0, exp - time.time()) + 0.05)  # let the token's own lifetime run out
    with pytest.raises(Unauthorized, match="expired"):
        await verifier.verify(token)
    assert len(verifier.verified) == 0, "the expired entry is dropped, not served"


async def test_a_token_expired_within_the_leeway_is_accepted_but_never_cached(keys: TestKeys) -> None:
    verifier = verifier_for(keys, leeway=30)
    token = keys.token(sub="late", expires_in=-5)
    assert (await verifier.verify(token)).user_id == "late"
    assert len(verifier.verified) == 0


def _segments(token: str) -> list[str]:
    return token.split(".")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_a_tampered_token_is_refused_while_the_genuine_one_is_cached(keys: TestKeys) -> None:
    verifier = verifier_for(keys)
    genuine = keys.token(role=Role.customer, sub="c1")
    assert (await verifier.verify(genuine)).role is Role.customer
    header, payload, signature = _segments(genuine)

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"  # privilege escalation with the genuine signature
    escalated = ".".join([header, _b64(json.dumps(claims).encode()), signature])
    with pytest.raises(Unauthorized, match="Invalid access token"):
        await verifier.verify(escalated)

    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized, match="Invalid access token"):
        await verifier.verify(".".join([header, payload, flipped]))

    forged = TestKeys(issuer=ISSUER, audience=AUDIENCE, kid=keys.kid).token(role=Role.admin, sub="c1")
    with pytest.raises(Unauthorized, match="Invalid access token"):
        await verifier.verify(forged)  # same kid, another private key

    assert (await verifier.verify(genuine)).role is Role.customer
    assert len(verifier.verified) == 1, "refused tokens are never cached"


async def test_the_cache_is_bounded_and_evicts_the_least_recently_used(keys: TestKeys) -> None:
    verifier = verifier_for(keys, cache_size=3)
    tokens = [keys.token(sub=f"u{n}") for n in range(5)]
    for token in tokens[:3]:
        await verifier.verify(token)
    await verifier.verify(tokens[0])  # u0 becomes the most recently used
    for token in tokens[3:]:
        await verifier.verify(token)
    assert len(verifier.verified) == 3
    now = time.time()
    cached = [n for n, token in enumerate(tokens) if verifier.verified.get(token, now) is not None]
    assert cached == [0, 3, 4]


async def test_a_cached_token_is_refused_once_its_key_is_withdrawn(keys: TestKeys) -> None:
    verifier = verifier_for(keys)
    token = keys.token(sub="u1")
    await verifier.verify(token)
    successor = TestKeys(issuer=ISSUER, audience=AUDIENCE)
    verifier.jwks.set_keys(successor.jwks())  # the old key is no longer published
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(token)


def test_keys_are_parsed_once_and_reparsed_only_when_they_change(keys: TestKeys) -> None:
    cache = JWKSCache("http://127.0.0.1:9/unused")
    cache.set_keys(keys.jwks())
    parsed = cache._keys[keys.kid]
    cache.set_keys(keys.jwks())
    assert cache._keys[keys.kid] is parsed, "an unchanged JWK keeps its parsed key"
    replaced = TestKeys(issuer=ISSUER, audience=AUDIENCE, kid=keys.kid)
    cache.set_keys(replaced.jwks())
    assert cache._keys[keys.kid] is not parsed, "a changed JWK under the same kid is parsed again"


async def test_an_oversized_or_malformed_token_is_refused_before_parsing(keys: TestKeys) -> None:
    verifier = verifier_for(keys)
    for bad in ("a" * 9000, "only.two", "!!!.e30.sig", "e30.e30.e30.e30"):
        with pytest.raises(Unauthorized, match="Malformed"):
            await verifier.verify(bad)
