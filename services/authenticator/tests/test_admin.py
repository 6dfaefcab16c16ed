"""Administration and RBAC: users, roles, disabling, forced logout, audit search, key rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import text

from .conftest import Api


async def test_customers_and_agents_get_403_on_admin_endpoints(api: Api) -> None:
    customer = await api.signed_in("customer")
    agent = await api.signed_in("agent")
    target = customer["user"]["id"]

    for ctx in (customer, agent):
        forbidden = await api.client.put(
            f"/admin/users/{target}/role", json={"role": "admin"}, headers=ctx["auth"]
        )
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"] == "application/problem+json"
        assert "users:manage" in forbidden.json()["detail"]
        assert (await api.client.get("/admin/audit", headers=ctx["auth"])).status_code == 403
        assert (await api.client.post("/admin/keys/rotate", headers=ctx["auth"])).status_code == 403
    assert (await api.client.get("/admin/users", headers=customer["auth"])).status_code == 403
    assert (await api.client.get("/admin/users", headers=agent["auth"])).status_code == 200
    assert (await api.client.get("/admin/users")).status_code == 401


async def test_admin_searches_users_with_pagination(api: Api) -> None:
    admin = await api.signed_in("admin")
    for n in range(3):
        await api.register(f"pagination-{n}-zz@example.com")

    first = await api.client.get(
        "/admin/users", params={"q": "-ZZ@example", "limit": 2}, headers=admin["auth"]
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    second = await api.client.get(
        "/admin/users",
        params={"q": "-zz@example", "limit": 2, "cursor": body["next_cursor"]},
        headers=admin["auth"],
    )
    assert len(second.json()["items"]) == 1 and second.json()["next_cursor"] is None  # 3 in all, 2 pages
    emails = {u["email"] for u in body["items"]} | {u["email"] for u in second.json()["items"]}
    assert emails == {f"pagination-{n}-zz@example.com" for n in range(3)}
    admins = await api.client.get(
        "/admin/users", params={"role": "admin", "q": admin["user"]["email"]}, headers=admin["auth"]
    )
    assert [u["id"] for u in admins.json()["items"]] == [admin["user"]["id"]]
    bad = await api.client.get("/admin/users", params={"role": "pirate"}, headers=admin["auth"])
    assert bad.status_code == 422


async def test_role_change_publishes_event_and_ends_sessions(api: Api) -> None:
    admin = await api.signed_in("admin")
    agent = await api.signed_in("agent")
    url = f"/admin/users/{agent['user']['id']}/role"

    changed = await api.client.put(url, json={"role": "supervisor"}, headers=admin["auth"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "supervisor"
    assert (
        await api.client.post("/refresh", json={"refresh_token": agent["tokens"]["refresh_token"]})
    ).status_code == 401
    relogin = await api.login(agent["user"]["email"])
    claims = jwt.decode(relogin.json()["access_token"], options={"verify_signature": False})
    assert claims["role"] == "supervisor" and "audit:read" in claims["permissions"]
    event = (await api.events("user.role_changed", key=agent["user"]["id"]))[0]["data"]
    assert event == {
        "user_id": agent["user"]["id"],
        "old_role": "agent",
        "new_role": "supervisor",
        "changed_by": admin["user"]["id"],
    }
    audit = await api.audit("user.role_changed", agent["user"]["id"])
    assert audit[0]["changes"] == {"before": {"role": "agent"}, "after": {"role": "supervisor"}}
    assert str(audit[0]["actor_id"]) == admin["user"]["id"]

    own = await api.client.put(
        f"/admin/users/{admin['user']['id']}/role", json={"role": "agent"}, headers=admin["auth"]
    )
    assert own.status_code == 409


async def test_disable_enable_and_force_logout(api: Api) -> None:
    admin = await api.signed_in("admin")
    victim = await api.signed_in("agent")
    vid = victim["user"]["id"]

    disabled = await api.client.post(
        f"/admin/users/{vid}/disable", json={"reason": "left the company"}, headers=admin["auth"]
    )
    assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
    assert (await api.client.get("/me", headers=victim["auth"])).status_code == 401
    assert (await api.login(victim["user"]["email"])).status_code == 403
    assert (await api.events("user.disabled", key=vid))[0]["data"]["reason"] == "left the company"

    enabled = await api.client.post(f"/admin/users/{vid}/enable", headers=admin["auth"])
    assert enabled.json()["status"] == "active"
    assert await api.events("user.enabled", key=vid)
    fresh = (await api.login(victim["user"]["email"])).json()

    sessions = await api.client.get(f"/admin/users/{vid}/sessions", headers=admin["auth"])
    assert [s["id"] for s in sessions.json()] == [fresh["session_id"]]
    out = await api.client.post(f"/admin/users/{vid}/logout", headers=admin["auth"])
    assert out.json() == {"sessions_revoked": 1}
    assert (
        await api.client.post("/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 401
    assert (await api.audit("session.revoked_all", vid))[0]["details"] == {"sessions_revoked": 1}
    assert (
        await api.client.post(f"/admin/users/{admin['user']['id']}/disable", headers=admin["auth"])
    ).status_code == 409
    missing = await api.client.post(
        "/admin/users/00000000-0000-0000-0000-000000000000/disable", headers=admin["auth"]
    )
    assert missing.status_code == 404


async def test_supervisor_revokes_a_session_but_cannot_manage_users(api: Api) -> None:
    supervisor = await api.signed_in("supervisor")
    agent = await api.signed_in("agent")
    revoked = await api.client.delete(
        f"/admin/sessions/{agent['tokens']['session_id']}", headers=supervisor["auth"]
    )
    assert revoked.status_code == 204
    assert (await api.client.get("/me", headers=agent["auth"])).status_code == 401
    denied = await api.client.post(f"/admin/users/{agent['user']['id']}/disable", headers=supervisor["auth"])
    assert denied.status_code == 403


async def test_audit_search_filters_and_paginates(api: Api) -> None:
    admin = await api.signed_in("admin")
    user = await api.register()
    await api.login(user["email"], "Wrong-Password-1!")
    await api.login(user["email"])

    failed = await api.client.get(
        "/admin/audit", params={"user_id": user["id"], "action": "login.failed"}, headers=admin["auth"]
    )
    assert failed.status_code == 200, failed.text
    items = failed.json()["items"]
    assert [i["action"] for i in items] == ["login.failed"]
    assert items[0]["ip"] == "127.0.0.1" and "password" not in str(items[0]["details"]).lower().replace(
        "wrong", ""
    )
    both = await api.client.get(
        "/admin/audit",
        params=[
            ("user_id", user["id"]),
            ("action", "login.failed"),
            ("action", "login.succeeded"),
            ("limit", 1),
        ],
        headers=admin["auth"],
    )
    assert both.json()["items"][0]["action"] == "login.succeeded"
    rest = await api.client.get(
        "/admin/audit",
        params=[
            ("user_id", user["id"]),
            ("action", "login.failed"),
            ("action", "login.succeeded"),
            ("cursor", both.json()["next_cursor"]),
        ],
        headers=admin["auth"],
    )
    assert [i["action"] for i in rest.json()["items"]] == ["login.failed"]  # 2 in all
    assert rest.json()["next_cursor"] is None
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    none = await api.client.get(
        "/admin/audit", params={"user_id": user["id"], "since": future}, headers=admin["auth"]
    )
    assert none.json() == {"items": [], "next_cursor": None}
    naive = await api.client.get(
        "/admin/audit", params={"since": "2026-01-01T00:00:00"}, headers=admin["auth"]
    )
    assert naive.status_code == 422
    secrets_logged = await api.conn.scalar(
        text(
            "SELECT count(*) FROM auth.audit_logs"
            " WHERE details::text ILIKE '%Tejado-Azul%' OR changes::text ILIKE '%Tejado-Azul%'"
        )
    )
    assert secrets_logged == 0


async def test_key_rotation_keeps_old_tokens_valid(api: Api) -> None:
    admin = await api.signed_in("admin")
    old_kid = jwt.get_unverified_header(admin["tokens"]["access_token"])["kid"]

    rotated = await api.client.post("/admin/keys/rotate", headers=admin["auth"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["previous_kid"] == old_kid
    new_kid = rotated.json()["kid"]
    jwks = (await api.client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} >= {old_kid, new_kid}
    assert all("d" not in k and k["alg"] == "RS256" and k["use"] == "sig" for k in jwks["keys"])

    assert (await api.client.get("/me", headers=admin["auth"])).status_code == 200
    fresh = await api.login(admin["user"]["email"])
    assert jwt.get_unverified_header(fresh.json()["access_token"])["kid"] == new_kid
    me = await api.client.get("/me", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"})
    assert me.status_code == 200
    assert await api.audit("keys.rotated")
    private = await api.conn.scalar(
        text("SELECT private_key FROM auth.signing_keys WHERE kid = :k"), {"k": new_kid}
    )
    assert b"PRIVATE KEY" not in bytes(private)
