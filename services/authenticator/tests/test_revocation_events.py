"""Every way a session ends early publishes `session.revoked`, so the gateway refuses its tokens at once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from .conftest import NEW_PASSWORD, PASSWORD, Api, query_of

ACCESS_TTL = timedelta(seconds=900)


async def _revoked(api: Api, user_id: str) -> list[dict[str, Any]]:
    return [e["data"] for e in await api.events("session.revoked", key=user_id)]


async def _deny_until_is_the_last_token_expiry(api: Api, event: dict[str, Any]) -> None:
    latest = await api.conn.scalar(
        text("SELECT max(last_activity_at) FROM auth.sessions WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": event["session_ids"]},
    )
    deny_until = datetime.fromisoformat(event["deny_until"])
    assert abs((deny_until - (latest + ACCESS_TTL)).total_seconds()) <= 1, (deny_until, latest)
    assert datetime.fromisoformat(event["revoked_at"]) < deny_until


async def test_logout_and_logout_everywhere(api: Api) -> None:
    ctx = await api.signed_in()
    uid, sid = ctx["user"]["id"], ctx["tokens"]["session_id"]
    phone = (await api.login(ctx["user"]["email"], **{"X-Forwarded-For": "192.0.2.8"})).json()
    assert (await api.client.post("/logout", headers=ctx["auth"])).status_code == 204
    [one] = await _revoked(api, uid)
    assert one["session_ids"] == [sid] and one["reason"] == "logout" and one["user_id"] == uid
    await _deny_until_is_the_last_token_expiry(api, one)

    laptop = (await api.login(ctx["user"]["email"])).json()
    auth = {"Authorization": f"Bearer {laptop['access_token']}"}
    assert (await api.client.post("/logout", json={"all_sessions": True}, headers=auth)).status_code == 204
    everywhere = (await _revoked(api, uid))[-1]
    assert sorted(everywhere["session_ids"]) == sorted([phone["session_id"], laptop["session_id"]])
    await _deny_until_is_the_last_token_expiry(api, everywhere)


async def test_password_change_and_reset(api: Api) -> None:
    ctx = await api.signed_in()
    uid = ctx["user"]["id"]
    other = (await api.login(ctx["user"]["email"])).json()
    changed = await api.client.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=ctx["auth"]
    )
    assert changed.status_code == 204
    [event] = await _revoked(api, uid)
    assert event["session_ids"] == [other["session_id"]] and event["reason"] == "password_changed"

    await api.client.post("/forgot-password", json={"email": ctx["user"]["email"]})
    link = (await api.events("auth.password_reset_requested", key=uid))[0]["data"]["reset_url"]
    assert (
        await api.client.post(
            "/reset-password", json={"token": query_of(link)["token"], "new_password": PASSWORD}
        )
    ).status_code == 204
    reset = (await _revoked(api, uid))[-1]
    assert reset["session_ids"] == [ctx["tokens"]["session_id"]] and reset["reason"] == "password_reset"


async def test_refresh_token_reuse(api: Api) -> None:
    ctx = await api.signed_in()
    first = ctx["tokens"]["refresh_token"]
    assert (await api.client.post("/refresh", json={"refresh_token": first})).status_code == 200
    replay = await api.client.post(
        "/refresh",
        json={"refresh_token": first},
        headers={"User-Agent": "curl/8.5", "X-Forwarded-For": "203.0.113.5"},
    )
    assert replay.status_code == 401
    [event] = await _revoked(api, ctx["user"]["id"])
    assert event["session_ids"] == [ctx["tokens"]["session_id"]] and event["reason"] == "refresh_token_reuse"
    await _deny_until_is_the_last_token_expiry(api, event)


async def test_admin_actions(api: Api) -> None:
    admin = await api.signed_in("admin")
    agent = await api.signed_in("agent")
    aid = agent["user"]["id"]

    assert (
        await api.client.put(f"/admin/users/{aid}/role", json={"role": "supervisor"}, headers=admin["auth"])
    ).status_code == 200
    assert [e["reason"] for e in await _revoked(api, aid)] == ["role_changed"]

    fresh = (await api.login(agent["user"]["email"])).json()
    assert (await api.client.post(f"/admin/users/{aid}/disable", headers=admin["auth"])).status_code == 200
    disabled = (await _revoked(api, aid))[-1]
    assert disabled["reason"] == "account_disabled" and disabled["session_ids"] == [fresh["session_id"]]

    assert (await api.client.post(f"/admin/users/{aid}/enable", headers=admin["auth"])).status_code == 200
    again = (await api.login(agent["user"]["email"])).json()
    assert (await api.client.post(f"/admin/users/{aid}/logout", headers=admin["auth"])).status_code == 200
    assert (await _revoked(api, aid))[-1]["reason"] == "revoked_by_admin"
    # Nothing left to revoke: nothing published.
    assert (await api.client.post(f"/admin/users/{aid}/logout", headers=admin["auth"])).status_code == 200
    assert len(await _revoked(api, aid)) == 3

    last = (await api.login(agent["user"]["email"])).json()
    assert (
        await api.client.delete(f"/admin/sessions/{last['session_id']}", headers=admin["auth"])
    ).status_code == 204
    one = (await _revoked(api, aid))[-1]
    assert one["session_ids"] == [last["session_id"]] and one["reason"] == "revoked_by_admin"
    assert again["session_id"] not in one["session_ids"]


async def test_user_revokes_one_of_their_sessions(api: Api) -> None:
    ctx = await api.signed_in()
    phone = (await api.login(ctx["user"]["email"], **{"X-Forwarded-For": "192.0.2.9"})).json()
    assert (
        await api.client.delete(f"/me/sessions/{phone['session_id']}", headers=ctx["auth"])
    ).status_code == 204
    [event] = await _revoked(api, ctx["user"]["id"])
    assert event["session_ids"] == [phone["session_id"]] and event["reason"] == "revoked_by_user"


async def test_email_change(api: Api) -> None:
    ctx = await api.signed_in()
    other = (await api.login(ctx["user"]["email"])).json()
    new_email = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    await api.client.post(
        "/me/email", json={"new_email": new_email, "current_password": PASSWORD}, headers=ctx["auth"]
    )
    link = (await api.events("auth.email_change_requested", key=ctx["user"]["id"]))[0]["data"][
        "verification_url"
    ]
    assert (
        await api.client.post("/verify-email-change", json={"token": query_of(link)["token"]})
    ).status_code == 200
    [event] = await _revoked(api, ctx["user"]["id"])
    assert event["session_ids"] == [other["session_id"]] and event["reason"] == "email_changed"
