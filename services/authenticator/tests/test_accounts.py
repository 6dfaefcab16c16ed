"""Registration, e-mail verification, profile, password change and reset, through HTTP."""

from __future__ import annotations

from sqlalchemy import text

from .conftest import NEW_PASSWORD, PASSWORD, Api, query_of


async def test_register_creates_customer_and_requests_verification(api: Api) -> None:
    answer = await api.client.post(
        "/register",
        json={
            "email": "Lucia.Martin@Example.com",
            "password": PASSWORD,
            "first_name": "Lucía",
            "last_name": "Martín",
            "phone": "612 345 678",
        },
    )
    assert answer.status_code == 202, answer.text
    assert set(answer.json()) == {"detail"}, "nothing about the account leaks into the answer"
    user = (
        await api.conn.execute(
            text(
                "SELECT id, email, role, phone, email_verified_at, password_hash"
                " FROM auth.users WHERE email = :e"
            ),
            {"e": "lucia.martin@example.com"},
        )
    ).one()
    assert (user.role, user.phone, user.email_verified_at) == ("customer", "+34612345678", None)
    assert user.password_hash.startswith("$argon2id$")
    user_id = str(user.id)
    registered = await api.events("user.registered", key=user_id)
    assert registered[0]["data"]["email"] == "lucia.martin@example.com"
    assert registered[0]["source"] == "authenticator"
    verification = await api.events("auth.email_verification_requested", key=user_id)
    assert verification[0]["data"]["verification_url"].startswith(
        "https://app.aintech.test/verify-email?token="
    )


async def test_register_rejects_weak_and_breached_passwords_and_hides_duplicates(api: Api) -> None:
    weak = await api.client.post(
        "/register", json={"email": "a@example.com", "password": "short", "first_name": "A", "last_name": "B"}
    )
    assert weak.status_code == 422
    assert weak.headers["content-type"] == "application/problem+json"
    message = weak.json()["errors"][0]["message"]
    assert "at least 8 characters" in message and "symbol" in message and "digit" in message

    breached = await api.client.post(
        "/register",
        json={"email": "b@example.com", "password": "P@ssw0rd123", "first_name": "A", "last_name": "B"},
    )
    assert breached.status_code == 422
    assert "commonly breached" in breached.json()["errors"][0]["message"]

    bad_phone = await api.client.post(
        "/register",
        json={
            "email": "c@example.com",
            "password": PASSWORD,
            "first_name": "A",
            "last_name": "B",
            "phone": "12",
        },
    )
    assert bad_phone.status_code == 422
    assert bad_phone.json()["errors"][0]["field"] == "phone"

    await api.register("dup@example.com")
    duplicate = await api.client.post(
        "/register",
        json={"email": "DUP@example.com", "password": PASSWORD, "first_name": "A", "last_name": "B"},
    )
    assert duplicate.status_code == 202, "a taken address is not revealed"
    count = await api.conn.scalar(text("SELECT count(*) FROM auth.users WHERE email = 'dup@example.com'"))
    assert count == 1


async def test_email_verification_is_single_use(api: Api) -> None:
    user = await api.register()
    url = (await api.events("auth.email_verification_requested", key=user["id"]))[0]["data"][
        "verification_url"
    ]
    token = query_of(url)["token"]

    verified = await api.client.post("/verify-email", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json() == {"email": user["email"], "email_verified": True}
    again = await api.client.post("/verify-email", json={"token": token})
    assert again.status_code == 400
    assert (await api.events("user.email_verified", key=user["id"]))[0]["data"]["user_id"] == user["id"]
    assert await api.audit("user.email_verified", user["id"])

    login = await api.login(user["email"])
    me = await api.client.get("/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["email_verified"] is True


async def test_me_requires_token_and_profile_update(api: Api) -> None:
    assert (await api.client.get("/me")).status_code == 401
    bogus = await api.client.get("/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert bogus.status_code == 401
    assert bogus.headers["content-type"] == "application/problem+json"

    ctx = await api.signed_in("agent")
    me = await api.client.get("/me", headers=ctx["auth"])
    assert me.status_code == 200
    body = me.json()
    assert body["role"] == "agent" and "customers:read" in body["permissions"]
    assert body["session_id"] == ctx["tokens"]["session_id"]

    patched = await api.client.patch(
        "/me", json={"first_name": "Lucía Isabel", "phone": "+34 911 234 567"}, headers=ctx["auth"]
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["first_name"] == "Lucía Isabel"
    assert patched.json()["phone"] == "+34911234567"
    audit = await api.audit("user.profile_updated", ctx["user"]["id"])
    assert audit[0]["changes"]["after"] == {"first_name": "Lucía Isabel", "phone": "+34911234567"}
    refused = await api.client.patch("/me", json={"role": "admin"}, headers=ctx["auth"])
    assert refused.status_code == 422


async def test_a_name_cannot_be_cleared_and_the_document_says_so(api: Api) -> None:
    document = (await api.client.get("/openapi.json")).json()
    ref = document["paths"]["/me"]["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert body.get("required", []) == []  # PATCH: every field may be left out
    for name in ("first_name", "last_name"):
        assert body["properties"][name]["type"] == "string" and "anyOf" not in body["properties"][name]
    assert {"type": "null"} in body["properties"]["phone"]["anyOf"]  # the phone can be removed

    ctx = await api.signed_in("agent")
    cleared = await api.client.patch("/me", json={"first_name": None}, headers=ctx["auth"])
    assert cleared.status_code == 422, cleared.text
    assert cleared.json()["errors"][0]["field"] == "first_name"
    kept = await api.client.patch("/me", json={"last_name": "Ruiz"}, headers=ctx["auth"])
    assert kept.status_code == 200, kept.text
    assert kept.json()["first_name"] == ctx["user"]["first_name"] and kept.json()["last_name"] == "Ruiz"


async def test_change_password_signs_out_other_sessions(api: Api) -> None:
    ctx = await api.signed_in()
    other = (await api.login(ctx["user"]["email"])).json()

    wrong = await api.client.post(
        "/me/password",
        json={"current_password": "Wrong-Pass-1!", "new_password": NEW_PASSWORD},
        headers=ctx["auth"],
    )
    assert wrong.status_code == 422
    changed = await api.client.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=ctx["auth"]
    )
    assert changed.status_code == 204, changed.text

    assert (await api.client.get("/me", headers=ctx["auth"])).status_code == 200
    assert (
        await api.client.post("/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401
    assert (await api.login(ctx["user"]["email"], PASSWORD)).status_code == 401
    # The wrong passwords above count like failed sign-ins; skip the delay they earned.
    await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    assert (await api.login(ctx["user"]["email"], NEW_PASSWORD)).status_code == 200
    assert await api.audit("password.changed", ctx["user"]["id"])
    assert (await api.events("auth.password_changed", key=ctx["user"]["id"]))[0]["data"][
        "method"
    ] == "changed"


async def test_password_reset_revokes_every_session(api: Api) -> None:
    ctx = await api.signed_in()
    email = ctx["user"]["email"]

    unknown = await api.client.post("/forgot-password", json={"email": "nobody@example.com"})
    known = await api.client.post("/forgot-password", json={"email": email})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    event = (await api.events("auth.password_reset_requested", key=ctx["user"]["id"]))[0]["data"]
    token = query_of(event["reset_url"])["token"]
    stored = await api.conn.scalar(
        text("SELECT count(*) FROM auth.one_time_tokens WHERE token_hash = :t"), {"t": token}
    )
    assert stored == 0  # only the digest is stored

    weak = await api.client.post("/reset-password", json={"token": token, "new_password": "password"})
    assert weak.status_code == 422
    reset = await api.client.post("/reset-password", json={"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 204, reset.text

    assert (await api.client.get("/me", headers=ctx["auth"])).status_code == 401
    refreshed = await api.client.post("/refresh", json={"refresh_token": ctx["tokens"]["refresh_token"]})
    assert refreshed.status_code == 401
    assert (
        await api.client.post("/reset-password", json={"token": token, "new_password": PASSWORD})
    ).status_code == 400
    assert (await api.login(email, NEW_PASSWORD)).status_code == 200
    audit = await api.audit("password.reset", ctx["user"]["id"])
    assert audit[0]["details"]["sessions_revoked"] == 1


async def test_reset_link_expires(api: Api) -> None:
    ctx = await api.signed_in()
    await api.client.post("/forgot-password", json={"email": ctx["user"]["email"]})
    event = (await api.events("auth.password_reset_requested", key=ctx["user"]["id"]))[0]["data"]
    await api.conn.execute(
        text("UPDATE auth.one_time_tokens SET expires_at = now() - interval '1 second' WHERE user_id = :u"),
        {"u": ctx["user"]["id"]},
    )
    expired = await api.client.post(
        "/reset-password", json={"token": query_of(event["reset_url"])["token"], "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 400
    assert "expired" in expired.json()["detail"]


async def test_resending_verification_supersedes_the_old_link(api: Api) -> None:
    user = await api.register()
    login = await api.login(user["email"])
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    await api.conn.execute(
        text(
            "UPDATE auth.one_time_tokens SET created_at = created_at - interval '2 minutes'"
            " WHERE user_id = :u"
        ),
        {"u": user["id"]},
    )  # past the resend cool-down
    resent = await api.client.post("/verify-email/resend", headers=auth)
    assert resent.status_code == 202
    links = await api.events("auth.email_verification_requested", key=user["id"])
    assert len(links) == 2
    old, new = (query_of(link["data"]["verification_url"])["token"] for link in links)
    assert (await api.client.post("/verify-email", json={"token": old})).status_code == 400
    assert (await api.client.post("/verify-email", json={"token": new})).status_code == 200
    assert (await api.client.post("/verify-email/resend", headers=auth)).status_code == 409
