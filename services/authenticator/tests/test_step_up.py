"""Security changes need a recent sign-in or the current password; wrong ones are throttled."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from authenticator.throttle.service import account_key

from .conftest import NEW_PASSWORD, PASSWORD, Api, confirm_two_factor, query_of, totp_code


async def _age_sign_in(api: Api, ctx: dict[str, Any], minutes: int = 60) -> None:
    await api.conn.execute(
        text("UPDATE auth.sessions SET authenticated_at = now() - make_interval(mins => :m) WHERE id = :s"),
        {"m": minutes, "s": ctx["tokens"]["session_id"]},
    )


async def test_enabling_two_factor_needs_a_recent_sign_in_or_the_password(api: Api) -> None:
    ctx = await api.signed_in()
    assert (await api.client.post("/2fa/enable", headers=ctx["auth"])).status_code == 200  # just signed in

    await _age_sign_in(api, ctx)
    stale = await api.client.post("/2fa/enable", headers=ctx["auth"])
    assert stale.status_code == 403, stale.text
    assert stale.json()["type"].endswith("/step-up-required")
    wrong = await api.client.post(
        "/2fa/enable", json={"current_password": "Wrong-Pass-1!"}, headers=ctx["auth"]
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    confirmed = await api.client.post("/2fa/enable", json={"current_password": PASSWORD}, headers=ctx["auth"])
    assert confirmed.status_code == 200, confirmed.text
    # Confirming the password counts as a fresh sign-in for the next few minutes.
    assert (await api.client.post("/2fa/enable", headers=ctx["auth"])).status_code == 200


async def test_new_recovery_codes_need_the_password_on_an_old_session(api: Api) -> None:
    ctx = await api.signed_in()
    started = await api.client.post("/2fa/enable", headers=ctx["auth"])
    secret = started.json()["secret"]
    assert (await confirm_two_factor(api, ctx["auth"], secret)).status_code == 200

    await _age_sign_in(api, ctx)
    refused = await api.client.post(
        "/2fa/recovery-codes", json={"code": totp_code(secret)}, headers=ctx["auth"]
    )
    assert refused.status_code == 403
    fresh = await api.client.post(
        "/2fa/recovery-codes",
        json={"code": totp_code(secret), "current_password": PASSWORD},
        headers=ctx["auth"],
    )
    assert fresh.status_code == 200 and len(fresh.json()["recovery_codes"]) == 10


async def test_email_change_needs_the_password_and_the_new_address(api: Api) -> None:
    ctx = await api.signed_in()
    other = (await api.login(ctx["user"]["email"], **{"X-Forwarded-For": "192.0.2.44"})).json()
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    await _age_sign_in(api, ctx)
    refused = await api.client.post("/me/email", json={"new_email": new_email}, headers=ctx["auth"])
    assert refused.status_code == 403

    asked = await api.client.post(
        "/me/email", json={"new_email": new_email, "current_password": PASSWORD}, headers=ctx["auth"]
    )
    assert asked.status_code == 202, asked.text
    link = (await api.events("auth.email_change_requested", key=ctx["user"]["id"]))[0]["data"]
    assert link["new_email"] == new_email and link["email"] == ctx["user"]["email"]
    assert link["verification_url"].startswith("https://app.aintech.test/verify-email-change?token=")
    me = await api.client.get("/me", headers=ctx["auth"])
    assert me.json()["email"] == ctx["user"]["email"], "nothing changes before the new address is proven"

    done = await api.client.post(
        "/verify-email-change", json={"token": query_of(link["verification_url"])["token"]}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"email": new_email, "email_verified": True}
    assert (await api.client.get("/me", headers=ctx["auth"])).json()["email"] == new_email
    assert (await api.login(new_email)).status_code == 200
    assert (await api.login(ctx["user"]["email"])).status_code == 401
    changed = (await api.events("user.email_changed", key=ctx["user"]["id"]))[0]["data"]
    assert changed["old_email"] == ctx["user"]["email"] and changed["new_email"] == new_email
    assert (
        await api.client.post("/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 401, "other sessions end"


async def test_email_change_to_a_taken_address_reveals_nothing(api: Api) -> None:
    ctx, taken = await api.signed_in(), await api.register()
    asked = await api.client.post(
        "/me/email", json={"new_email": taken["email"], "current_password": PASSWORD}, headers=ctx["auth"]
    )
    assert asked.status_code == 202
    assert await api.events("auth.email_change_requested", key=ctx["user"]["id"]) == []
    assert [n["data"]["email"] for n in await api.events("auth.account_exists_notice", key=taken["id"])] == [
        taken["email"]
    ]


async def test_wrong_current_passwords_inside_a_session_are_throttled(api: Api) -> None:
    ctx = await api.signed_in()
    statuses = []
    for n in range(4):
        wrong = await api.client.post(
            "/me/password",
            json={"current_password": f"Wrong-Pass-{n}!", "new_password": NEW_PASSWORD},
            headers=ctx["auth"],
        )
        statuses.append(wrong.status_code)
        await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    assert statuses == [422] * 4
    locked = await api.client.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=ctx["auth"]
    )
    assert locked.status_code == 429, locked.text
    assert await api.audit("password.check_failed", ctx["user"]["id"])


async def test_wrong_two_factor_codes_inside_a_session_are_throttled(api: Api) -> None:
    ctx = await api.signed_in()
    secret = (await api.client.post("/2fa/enable", headers=ctx["auth"])).json()["secret"]
    for _ in range(4):
        wrong = await api.client.post("/2fa/verify", json={"code": "000000"}, headers=ctx["auth"])
        assert wrong.status_code == 422
        await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    locked = await api.client.post("/2fa/verify", json={"code": totp_code(secret)}, headers=ctx["auth"])
    assert locked.status_code == 429, locked.text


async def test_password_reset_keeps_two_factor_and_warns_about_a_recent_enrolment(api: Api) -> None:
    ctx = await api.signed_in()
    secret = (await api.client.post("/2fa/enable", headers=ctx["auth"])).json()["secret"]
    assert (await confirm_two_factor(api, ctx["auth"], secret)).status_code == 200
    await api.client.post("/forgot-password", json={"email": ctx["user"]["email"]})
    link = (await api.events("auth.password_reset_requested", key=ctx["user"]["id"]))[0]["data"]["reset_url"]
    reset = await api.client.post(
        "/reset-password", json={"token": query_of(link)["token"], "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text

    alerts = [a["data"]["reason"] for a in await api.events("auth.suspicious_login", key=ctx["user"]["id"])]
    assert "two_factor_enrolled_recently" in alerts
    after = await api.login(ctx["user"]["email"], NEW_PASSWORD)
    assert after.json()["status"] == "two_factor_required", (
        "a reset link alone never removes the second factor"
    )


async def test_the_account_brake_does_not_stop_the_owner_inside_a_session(api: Api) -> None:
    ctx = await api.signed_in()
    await api.conn.execute(
        text(
            "INSERT INTO auth.login_throttles"
            " (key, failures, first_failure_at, last_failure_at, locked_until)"
            " VALUES (:k, 100, now(), now(), now() + interval '15 minutes')"
        ),
        {"k": account_key(ctx["user"]["email"])},
    )  # a distributed guess engaged the account-wide brake
    assert (await api.login(ctx["user"]["email"], **{"X-Forwarded-For": "203.0.113.50"})).status_code == 429
    changed = await api.client.post(
        "/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=ctx["auth"]
    )
    assert changed.status_code == 204, changed.text
