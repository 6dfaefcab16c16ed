"""Sign-in, refresh rotation and reuse detection, logout, sessions, throttling and lockout."""

from __future__ import annotations

import asyncio

import jwt
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

from .conftest import PASSWORD, Api, Live


async def test_login_returns_rs256_token_pair(api: Api) -> None:
    ctx = await api.signed_in("supervisor")
    tokens = ctx["tokens"]

    assert tokens["status"] == "authenticated" and tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900 and tokens["refresh_expires_in"] == 7 * 24 * 3600
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "RS256" and header["kid"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["sub"] == ctx["user"]["id"] and claims["email"] == ctx["user"]["email"]
    assert claims["role"] == "supervisor" and "audit:read" in claims["permissions"]
    assert claims["sid"] == tokens["session_id"] and claims["typ"] == "access" and claims["jti"]
    assert claims["exp"] - claims["iat"] == 900
    assert claims["iss"] == "https://auth.aintech.local" and claims["aud"] == "aintech-api"
    audit = await api.audit("login.succeeded", ctx["user"]["id"])
    assert audit[0]["ip"] == "127.0.0.1" and "Chrome" in audit[0]["user_agent"]


async def test_bad_password_and_unknown_user_look_the_same(api: Api) -> None:
    user = await api.register()
    wrong = await api.login(user["email"], "Wrong-Password-9!")
    unknown = await api.login("nobody-here@example.com", "Wrong-Password-9!")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Invalid email or password."
    assert wrong.headers["content-type"] == "application/problem+json"
    failures = await api.audit("login.failed")
    assert [f["details"]["reason"] for f in failures] == ["invalid_credentials", "invalid_credentials"]
    assert failures[0]["user_id"] is not None and failures[1]["user_id"] is None


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    ctx = await api.signed_in()
    first = ctx["tokens"]["refresh_token"]

    rotated = await api.client.post("/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first and second["session_id"] == ctx["tokens"]["session_id"]
    assert rotated.headers["cache-control"] == "no-store"
    stored = await api.conn.scalar(
        text("SELECT count(*) FROM auth.refresh_tokens WHERE token_hash = :t"), {"t": first}
    )
    assert stored == 0  # stored as SHA-256 only

    # Replayed from another device (a thief): the whole family dies.
    replay = await api.client.post(
        "/refresh",
        json={"refresh_token": first},
        headers={"User-Agent": "python-requests/2.32", "X-Forwarded-For": "203.0.113.66"},
    )
    assert replay.status_code == 401
    # The legitimate holder's newer token died with the family.
    assert (
        await api.client.post("/refresh", json={"refresh_token": second["refresh_token"]})
    ).status_code == 401
    assert (
        await api.client.get("/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    ).status_code == 401
    reuse = await api.audit("token.reuse_detected", ctx["user"]["id"])
    assert reuse and reuse[0]["details"]["family_created_at"]
    alerts = await api.events("auth.suspicious_login", key=ctx["user"]["id"])
    assert [a["data"]["reason"] for a in alerts] == ["refresh_token_reuse"]


async def test_two_tabs_refreshing_at_once_keep_the_session(live: Live) -> None:
    ctx = await live.signed_in()
    first = ctx["tokens"]["refresh_token"]
    async with live.database.engine.connect() as holder:
        held = await holder.begin()
        # Both refreshes queue on the token's row lock, then run one after the other for real.
        await holder.execute(
            text("SELECT id FROM auth.refresh_tokens WHERE session_id = :s FOR UPDATE"),
            {"s": ctx["tokens"]["session_id"]},
        )
        tabs = [
            asyncio.create_task(live.client.post("/refresh", json={"refresh_token": first})) for _ in range(2)
        ]
        await live.database.wait_for_lock_waiters(2)
        await held.rollback()
    tab_a, tab_b = await asyncio.gather(*tabs)

    assert (tab_a.status_code, tab_b.status_code) == (200, 200), (tab_a.text, tab_b.text)
    assert tab_a.json()["refresh_token"] != tab_b.json()["refresh_token"]
    for tab in (tab_a, tab_b):
        again = await live.client.post("/refresh", json={"refresh_token": tab.json()["refresh_token"]})
        assert again.status_code == 200, "both tabs keep a working session"
    assert await live.audit("token.reuse_detected", ctx["user"]["id"]) == []


async def test_replay_after_the_grace_window_revokes_the_family(api: Api) -> None:
    ctx = await api.signed_in()
    first = ctx["tokens"]["refresh_token"]
    rotated = await api.client.post("/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    await api.conn.execute(
        text(
            "UPDATE auth.refresh_tokens SET used_at = used_at - interval '1 minute' WHERE used_at IS NOT NULL"
        ),
    )
    assert (await api.client.post("/refresh", json={"refresh_token": first})).status_code == 401
    newer = rotated.json()["refresh_token"]
    assert (await api.client.post("/refresh", json={"refresh_token": newer})).status_code == 401
    assert await api.audit("token.reuse_detected", ctx["user"]["id"])


async def test_logout_ends_session(api: Api) -> None:
    ctx = await api.signed_in()
    assert (await api.client.post("/logout")).status_code == 401

    out = await api.client.post("/logout", headers=ctx["auth"])
    assert out.status_code == 204
    assert (await api.client.get("/me", headers=ctx["auth"])).status_code == 401
    assert (
        await api.client.post("/refresh", json={"refresh_token": ctx["tokens"]["refresh_token"]})
    ).status_code == 401
    assert await api.audit("session.logout", ctx["user"]["id"])


async def test_sessions_listed_and_revoked_by_owner(api: Api) -> None:
    ctx = await api.signed_in()
    phone = await api.login(
        ctx["user"]["email"],
        **{
            "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1",
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    phone_session = phone.json()["session_id"]

    listed = await api.client.get("/me/sessions", headers=ctx["auth"])
    assert listed.status_code == 200
    by_id = {s["id"]: s for s in listed.json()}
    assert by_id[ctx["tokens"]["session_id"]]["current"] is True
    assert by_id[phone_session]["device"] == "Safari on iOS" and by_id[phone_session]["ip"] == "203.0.113.9"
    alerts = await api.events("auth.suspicious_login", key=ctx["user"]["id"])
    assert [a["data"]["reason"] for a in alerts] == ["new_device"]

    assert (await api.client.delete(f"/me/sessions/{phone_session}", headers=ctx["auth"])).status_code == 204
    assert (
        await api.client.post("/refresh", json={"refresh_token": phone.json()["refresh_token"]})
    ).status_code == 401
    other = await api.signed_in()
    foreign = await api.client.delete(f"/me/sessions/{other['tokens']['session_id']}", headers=ctx["auth"])
    assert foreign.status_code == 404


async def _clear_delays(api: Api) -> None:
    """Skip the growing delay between attempts (the lockout itself is left alone)."""
    await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))


async def test_guessing_locks_the_guessers_address_not_the_owner(api: Api) -> None:
    user = await api.register()
    email = user["email"]
    attacker = {"X-Forwarded-For": "198.51.100.20"}

    assert (await api.login(email, "Wrong-Password-1!", **attacker)).status_code == 401
    assert (await api.login(email, "Wrong-Password-2!", **attacker)).status_code == 401
    delayed = await api.login(email, PASSWORD, **attacker)
    assert delayed.status_code == 429
    assert 1 <= int(delayed.headers["retry-after"]) <= 5  # the growing delay, not the lockout
    await _clear_delays(api)
    assert (await api.login(email, "Wrong-Password-3!", **attacker)).status_code == 401
    await _clear_delays(api)
    assert (await api.login(email, "Wrong-Password-4!", **attacker)).status_code == 401

    locked = await api.login(email, PASSWORD, **attacker)
    assert locked.status_code == 429, "the right password does not help the guesser's address"
    assert 50 <= int(locked.headers["retry-after"]) <= 60
    assert locked.json()["retry_after"] == int(locked.headers["retry-after"])
    owner = await api.login(email, PASSWORD, **{"X-Forwarded-For": "192.0.2.77"})
    assert owner.status_code == 200, "the owner signs in from their own address meanwhile"
    lock_rows = await api.audit("login.locked", user["id"])
    assert lock_rows[0]["details"]["scope"] == ["account_ip"]
    alerts = await api.events("auth.suspicious_login", key=user["id"])
    assert alerts[0]["data"]["reason"] == "failed_sign_ins" and alerts[0]["data"]["ip"] == "198.51.100.20"


async def test_account_brake_stops_a_distributed_guess_but_not_the_owners_device(api: Api) -> None:
    ctx = await api.signed_in()
    email = ctx["user"]["email"]
    owner = {"X-Forwarded-For": "192.0.2.10"}
    assert (await api.login(email, PASSWORD, **owner)).status_code == 200  # the owner's usual device

    for n in range(12):  # one guess from each of twelve addresses: no address reaches its own limit
        bot = {"X-Forwarded-For": f"203.0.113.{n + 1}", "User-Agent": "python-requests/2.32"}
        assert (await api.login(email, f"Wrong-Password-{n}!", **bot)).status_code == 401
        await _clear_delays(api)

    stranger = await api.login(email, PASSWORD, **{"X-Forwarded-For": "203.0.113.200"})
    assert stranger.status_code == 429
    assert (await api.login(email, PASSWORD, **owner)).status_code == 200, "a device that signed in before"
    assert (await api.audit("login.locked", ctx["user"]["id"]))[-1]["details"]["scope"] == ["account"]
    reasons = [a["data"]["reason"] for a in await api.events("auth.suspicious_login", key=ctx["user"]["id"])]
    assert "account_locked" in reasons


async def test_ip_lockout_spans_accounts(api: Api) -> None:
    ip = {"X-Forwarded-For": "198.51.100.99"}
    statuses = []
    for n in range(10):
        statuses.append((await api.login(f"spray-{n}@example.com", "Spray-Password-1!", **ip)).status_code)
        await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    assert statuses == [401] * 10
    user = await api.register()
    blocked = await api.login(user["email"], PASSWORD, **ip)
    assert blocked.status_code == 429
    assert (
        await api.login(user["email"], PASSWORD, **{"X-Forwarded-For": "198.51.100.100"})
    ).status_code == 200
    assert (await api.audit("login.locked"))[-1]["details"]["scope"] == ["ip"]


async def test_untrusted_peer_cannot_spoof_forwarded_for(app: FastAPI, api: Api) -> None:
    from httpx import ASGITransport, AsyncClient

    user = await api.register()
    transport = ASGITransport(app=app, client=("10.9.8.7", 5555))
    async with AsyncClient(transport=transport, base_url="http://auth.test") as outsider:
        response = await outsider.post(
            "/login",
            json={"email": user["email"], "password": PASSWORD},
            headers={"X-Forwarded-For": "1.2.3.4"},
        )
    assert response.status_code == 200
    audit = await api.audit("login.succeeded", user["id"])
    assert audit[-1]["ip"] == "10.9.8.7"


async def test_login_rehashes_outdated_password_hash(api: Api) -> None:
    user = await api.register()
    old = PasswordHash((Argon2Hasher(memory_cost=2048, time_cost=3, parallelism=1),)).hash(PASSWORD)
    await api.conn.execute(
        text("UPDATE auth.users SET password_hash = :h WHERE id = :id"), {"h": old, "id": user["id"]}
    )

    assert (await api.login(user["email"])).status_code == 200
    stored = await api.conn.scalar(
        text("SELECT password_hash FROM auth.users WHERE id = :id"), {"id": user["id"]}
    )
    assert stored != old and stored.startswith("$argon2id$") and "m=1024,t=1,p=1" in stored
    assert (await api.login(user["email"])).status_code == 200


async def test_disabled_account_cannot_sign_in(api: Api) -> None:
    ctx = await api.signed_in()
    await api.conn.execute(
        text("UPDATE auth.users SET status = 'disabled' WHERE id = :id"), {"id": ctx["user"]["id"]}
    )
    response = await api.login(ctx["user"]["email"])
    assert response.status_code == 403
    assert (await api.client.get("/me", headers=ctx["auth"])).status_code == 401
