"""GET /me reads account, session state and identities in one read-only query: same answer as the
ORM path (PATCH /me), identities included, and it still ends with the session or the account."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from .conftest import Api


async def test_get_me_answers_exactly_what_the_orm_path_answers(api: Api) -> None:
    ctx = await api.signed_in("customer")
    started = await api.client.post("/me/identities/microsoft", headers=ctx["auth"])
    identity = {"sub": f"ms-{uuid.uuid4().hex[:8]}", "email": "me@contoso.example", "xms_edov": True}
    linked = await api.oauth("microsoft", identity, start=started.json()["authorization_url"])
    assert linked.status_code == 200, linked.text

    read = await api.client.get("/me", headers=ctx["auth"])
    written = await api.client.patch("/me", json={}, headers=ctx["auth"])  # loads through the ORM
    assert read.status_code == written.status_code == 200
    assert read.json() == written.json()
    body = read.json()
    assert [(i["provider"], i["email"]) for i in body["identities"]] == [("microsoft", "me@contoso.example")]
    assert body["identities"][0]["created_at"].endswith("Z")
    assert body["session_id"] == ctx["tokens"]["session_id"] and body["has_password"] is True


async def test_get_me_refuses_a_token_whose_session_or_account_has_ended(api: Api) -> None:
    ended = await api.signed_in("agent")
    await api.conn.execute(
        text("UPDATE auth.sessions SET revoked_at = now() WHERE id = :sid"),
        {"sid": ended["tokens"]["session_id"]},
    )
    refused = await api.client.get("/me", headers=ended["auth"])
    assert refused.status_code == 401 and "session has ended" in refused.json()["detail"]

    disabled = await api.signed_in("agent")
    await api.conn.execute(
        text("UPDATE auth.users SET status = 'disabled' WHERE id = :uid"), {"uid": disabled["user"]["id"]}
    )
    refused = await api.client.get("/me", headers=disabled["auth"])
    assert refused.status_code == 401 and "no longer active" in refused.json()["detail"]

    other = await api.signed_in("agent")
    assert (await api.client.get("/me", headers=other["auth"])).status_code == 200
