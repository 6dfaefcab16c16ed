"""OpenID Connect sign-in against a fake provider on 127.0.0.1: PKCE, state, nonce, linking."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import httpx
import jwt
from sqlalchemy import text

from .conftest import Api, query_of
from .fake_oidc import CLIENT_SECRET


def google_identity(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "sub": f"g-{uuid.uuid4().hex[:12]}",
        "email": email,
        "email_verified": True,
        "given_name": "Marta",
        "family_name": "Gómez",
        **extra,
    }


async def test_first_google_login_creates_verified_customer(api: Api) -> None:
    email = f"marta-{uuid.uuid4().hex[:8]}@gmail.example"
    identity = google_identity(email)
    response = await api.oauth("google", identity)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "authenticated"
    assert body["user"]["email"] == email and body["user"]["role"] == "customer"
    assert body["user"]["email_verified"] is True and body["user"]["first_name"] == "Marta"
    authorize = api.oidc.authorize_requests[-1]
    assert authorize["code_challenge_method"] == "S256" and authorize["state"] and authorize["nonce"]
    assert authorize["redirect_uri"] == "http://auth.test/oauth/google/callback"
    assert len(api.oidc.token_requests[-1]["code_verifier"]) >= 43
    stored = await api.conn.execute(
        text("SELECT state_hash, used_at FROM auth.oauth_states ORDER BY created_at DESC LIMIT 1")
    )
    row = stored.one()
    assert row.state_hash != authorize["state"] and row.used_at is not None

    me = await api.client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["identities"][0]["provider"] == "google" and me.json()["has_password"] is False
    user_id = body["user"]["id"]
    assert (await api.events("user.registered", key=user_id))[0]["data"]["email"] == email
    assert await api.events("user.email_verified", key=user_id)
    assert await api.audit("oauth.linked", user_id) and await api.audit("oauth.login", user_id)

    again = await api.oauth("google", identity)
    assert again.status_code == 200 and again.json()["user"]["id"] == user_id
    assert len(await api.events("user.registered", key=user_id)) == 1


async def test_google_login_links_existing_verified_account(api: Api) -> None:
    ctx = await api.signed_in()
    response = await api.oauth("google", google_identity(ctx["user"]["email"].upper()))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == ctx["user"]["id"]
    links = await api.audit("oauth.linked", ctx["user"]["id"])
    assert links[0]["changes"]["after"]["provider"] == "google"


async def test_unverified_emails_never_link(api: Api) -> None:
    user = await api.register()
    taken = await api.oauth("google", google_identity(user["email"]))
    assert taken.status_code == 409
    assert "not verified" in taken.json()["detail"]

    unverified = await api.oauth("google", google_identity("someone@gmail.example", email_verified=False))
    assert unverified.status_code == 403
    count = await api.conn.scalar(
        text("SELECT count(*) FROM auth.users WHERE email = 'someone@gmail.example'")
    )
    assert count == 0


async def test_state_is_single_use_and_nonce_is_checked(api: Api) -> None:
    identity = google_identity("nonce-check@gmail.example")
    api.oidc.next_identity = identity
    started = await api.client.get("/oauth/google/login")
    async with httpx.AsyncClient() as browser:
        callback = (await browser.get(started.headers["location"])).headers["location"]
    path = callback.replace("http://auth.test", "")
    assert (await api.client.get(path)).status_code == 200
    replay = await api.client.get(path)
    assert replay.status_code == 400
    assert "already used" in replay.json()["detail"]

    forged = await api.oauth("google", {**identity, "nonce": "attacker-nonce"})
    assert forged.status_code == 401
    assert "nonce" in forged.json()["detail"]

    bogus = await api.client.get(
        "/oauth/google/callback", params={"code": "x", "state": "never-issued-state"}
    )
    assert bogus.status_code == 400
    cancelled_start = await api.client.post("/oauth/google/start")
    state = query_of(cancelled_start.json()["authorization_url"])["state"]
    cancelled = await api.client.get(
        "/oauth/google/callback", params={"state": state, "error": "access_denied"}
    )
    assert cancelled.status_code == 400 and "access_denied" in cancelled.json()["detail"]


async def test_microsoft_link_and_unlink_from_profile(api: Api) -> None:
    ctx = await api.signed_in()
    started = await api.client.post("/me/identities/microsoft", headers=ctx["auth"])
    assert started.status_code == 200, started.text
    identity = {
        "sub": f"ms-{uuid.uuid4().hex[:8]}",
        "email": "work@contoso.example",
        "xms_edov": True,
        "name": "Ana Ruiz",
    }
    linked = await api.oauth("microsoft", identity, start=started.json()["authorization_url"])
    assert linked.status_code == 200, linked.text
    assert linked.json()["provider"] == "microsoft" and linked.json()["email"] == "work@contoso.example"

    listed = await api.client.get("/me/identities", headers=ctx["auth"])
    assert [i["provider"] for i in listed.json()] == ["microsoft"]
    via_ms = await api.oauth("microsoft", identity)
    assert via_ms.json()["user"]["id"] == ctx["user"]["id"]

    assert (await api.client.delete("/me/identities/google", headers=ctx["auth"])).status_code == 404
    assert (await api.client.delete("/me/identities/microsoft", headers=ctx["auth"])).status_code == 204
    assert await api.audit("oauth.unlinked", ctx["user"]["id"])


async def test_last_sign_in_method_cannot_be_unlinked(api: Api) -> None:
    body = (await api.oauth("google", google_identity(f"only-{uuid.uuid4().hex[:6]}@gmail.example"))).json()
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    refused = await api.client.delete("/me/identities/google", headers=auth)
    assert refused.status_code == 409
    assert "only way to sign in" in refused.json()["detail"]


async def test_redirect_uri_follows_trusted_proxy_headers(api: Api) -> None:
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "app.aintech.es",
        "X-Forwarded-Prefix": "/api/auth",
    }
    started = await api.client.post("/oauth/google/start", headers=headers)
    assert query_of(started.json()["authorization_url"])["redirect_uri"] == (
        "https://app.aintech.es/api/auth/oauth/google/callback"
    )
    providers = await api.client.get("/oauth/providers")
    assert providers.json() == {"providers": ["google", "microsoft"]}
    assert (await api.client.get("/oauth/github/login")).status_code == 404


async def test_a_provider_name_with_control_characters_is_schema_invalid(api: Api) -> None:
    # The document's pattern says which names exist; a name outside it is refused as a 422, not 404.
    document = (await api.client.get("/openapi.json")).json()
    parameter = document["paths"]["/oauth/{provider}/login"]["get"]["parameters"][0]
    assert parameter["schema"]["pattern"] == "^[a-z][a-z0-9-]{0,31}$"
    assert (await api.client.get("/oauth/goo%01gle/login")).status_code == 422
    assert (await api.client.post("/oauth/Google%20/start")).status_code == 422


async def test_two_factor_still_applies_after_oauth(api: Api) -> None:
    ctx = await api.signed_in()
    await api.conn.execute(
        text("UPDATE auth.users SET totp_secret = '\\x00'::bytea WHERE id = :id"), {"id": ctx["user"]["id"]}
    )
    response = await api.oauth("google", google_identity(ctx["user"]["email"]))
    assert response.json()["status"] == "two_factor_required"


async def test_id_tokens_for_another_client_or_expired_are_refused(api: Api) -> None:
    email = f"aud-{uuid.uuid4().hex[:6]}@gmail.example"
    other_client = await api.oauth("google", google_identity(email, aud="someone-elses-client"))
    assert other_client.status_code == 401, other_client.text
    assert "audience" in other_client.json()["detail"].lower()

    now = int(time.time())
    expired = await api.oauth("google", google_identity(email, iat=now - 3600, exp=now - 600))
    assert expired.status_code == 401, expired.text
    assert "expired" in expired.json()["detail"]

    wrong_issuer = await api.oauth("google", google_identity(email, iss="https://evil.example"))
    assert wrong_issuer.status_code == 401
    created = await api.conn.scalar(text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": email})
    assert created == 0


async def test_id_tokens_not_signed_with_the_provider_key_are_refused(api: Api) -> None:
    email = f"alg-{uuid.uuid4().hex[:6]}@gmail.example"
    api.oidc.id_token_signer = lambda claims: jwt.encode(claims, CLIENT_SECRET, algorithm="HS256")
    try:
        hmac_signed = await api.oauth("google", google_identity(email))
    finally:
        api.oidc.id_token_signer = None
    assert hmac_signed.status_code == 401, hmac_signed.text

    unsigned = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    api.oidc.id_token_signer = lambda claims: (
        unsigned + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "."
    )
    try:
        none_signed = await api.oauth("google", google_identity(email))
    finally:
        api.oidc.id_token_signer = None
    assert none_signed.status_code == 401, none_signed.text


async def test_unreachable_provider_is_a_502(api: Api) -> None:
    started = await api.client.post("/oauth/google/start")
    state = query_of(started.json()["authorization_url"])["state"]
    api.oidc.token_status = 503
    try:
        failed = await api.client.get("/oauth/google/callback", params={"state": state, "code": "anything"})
    finally:
        api.oidc.token_status = None
    assert failed.status_code == 502, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
