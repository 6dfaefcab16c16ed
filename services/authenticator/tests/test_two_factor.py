"""TOTP enrolment, 2FA sign-in with challenge, replay protection, recovery codes, disabling."""

from __future__ import annotations

import base64

import jwt
import pyotp
from sqlalchemy import text

from .conftest import Api, confirm_two_factor, totp_code


async def _enrol(api: Api, auth: dict[str, str]) -> tuple[str, list[str]]:
    started = await api.client.post("/2fa/enable", headers=auth)
    assert started.status_code == 200, started.text
    body = started.json()
    secret = body["secret"]
    assert body["otpauth_uri"].startswith("otpauth://totp/AINTECH:")
    assert body["qr_code"].startswith("data:image/png;base64,")
    assert base64.b64decode(body["qr_code"].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == secret

    wrong = await api.client.post("/2fa/verify", json={"code": "000000"}, headers=auth)
    assert wrong.status_code == 422
    confirmed = await confirm_two_factor(api, auth, secret)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


async def test_two_factor_enable_login_and_disable(api: Api) -> None:
    ctx = await api.signed_in()
    secret, _ = await _enrol(api, ctx["auth"])
    me = await api.client.get("/me", headers=ctx["auth"])
    assert me.json()["two_factor_enabled"] is True
    stored = await api.conn.scalar(
        text("SELECT totp_secret FROM auth.users WHERE id = :id"), {"id": ctx["user"]["id"]}
    )
    assert secret.encode() not in bytes(stored)  # sealed at rest

    first = await api.login(ctx["user"]["email"])
    assert first.status_code == 200
    challenge = first.json()
    assert challenge["status"] == "two_factor_required" and "access_token" not in challenge
    assert challenge["expires_in"] == 300
    # A challenge is not a session: it opens nothing.
    assert (
        await api.client.get("/me", headers={"Authorization": f"Bearer {challenge['challenge_token']}"})
    ).status_code == 401

    code = totp_code(secret)
    wrong = await api.client.post(
        "/login/2fa", json={"challenge_token": challenge["challenge_token"], "code": "123456"}
    )
    assert wrong.status_code == 401
    done = await api.client.post(
        "/login/2fa", json={"challenge_token": challenge["challenge_token"], "code": code}
    )
    assert done.status_code == 200, done.text
    tokens = done.json()
    assert "otp" in jwt.decode(tokens["access_token"], options={"verify_signature": False})["amr"]
    reused_challenge = await api.client.post(
        "/login/2fa", json={"challenge_token": challenge["challenge_token"], "code": code}
    )
    assert reused_challenge.status_code == 401

    # The same code cannot be replayed in another sign-in.
    second = (await api.login(ctx["user"]["email"])).json()
    replay = await api.client.post(
        "/login/2fa", json={"challenge_token": second["challenge_token"], "code": code}
    )
    assert replay.status_code == 401
    assert await api.audit("login.2fa_failed", ctx["user"]["id"])

    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await api.client.post("/2fa/disable", json={"code": "000000"}, headers=auth)).status_code == 422
    # Wrong codes are throttled like failed sign-ins; skip the delay they earned.
    await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    disabled = await api.client.post("/2fa/disable", json={"code": totp_code(secret, 1)}, headers=auth)
    assert disabled.status_code == 204, disabled.text
    plain = await api.login(ctx["user"]["email"])
    assert plain.json()["status"] == "authenticated"
    actions = [
        r.action
        for r in await api.conn.execute(
            text(
                "SELECT action FROM auth.audit_logs"
                " WHERE user_id = :u AND action LIKE '2fa.%' ORDER BY occurred_at"
            ),
            {"u": ctx["user"]["id"]},
        )
    ]
    assert actions == [
        "2fa.enrollment_started",
        "2fa.code_failed",
        "2fa.enabled",
        "2fa.code_failed",
        "2fa.disabled",
    ]


async def test_recovery_codes_work_once(api: Api) -> None:
    ctx = await api.signed_in()
    _, codes = await _enrol(api, ctx["auth"])
    stored = await api.conn.scalar(
        text("SELECT count(*) FROM auth.recovery_codes WHERE code_hash = :c"),
        {"c": codes[0].replace("-", "")},
    )
    assert stored == 0

    challenge = (await api.login(ctx["user"]["email"])).json()["challenge_token"]
    used = await api.client.post("/login/2fa", json={"challenge_token": challenge, "code": codes[0].upper()})
    assert used.status_code == 200, used.text
    challenge = (await api.login(ctx["user"]["email"])).json()["challenge_token"]
    again = await api.client.post("/login/2fa", json={"challenge_token": challenge, "code": codes[0]})
    assert again.status_code == 401
    audit = await api.audit("2fa.recovery_code_used", ctx["user"]["id"])
    assert audit[0]["details"] == {"remaining": 9}


async def test_challenge_burns_after_too_many_wrong_codes(api: Api) -> None:
    ctx = await api.signed_in()
    secret, _ = await _enrol(api, ctx["auth"])
    challenge = (await api.login(ctx["user"]["email"])).json()["challenge_token"]
    await api.conn.execute(text("UPDATE auth.login_challenges SET attempts = 4"))
    assert (
        await api.client.post("/login/2fa", json={"challenge_token": challenge, "code": "111111"})
    ).status_code == 401
    await api.conn.execute(text("UPDATE auth.login_throttles SET next_allowed_at = NULL"))
    burnt = await api.client.post(
        "/login/2fa", json={"challenge_token": challenge, "code": totp_code(secret)}
    )
    assert burnt.status_code == 401
    assert "expired" in burnt.json()["detail"]


async def test_enrolment_rules(api: Api) -> None:
    ctx = await api.signed_in()
    assert (
        await api.client.post("/2fa/verify", json={"code": "123456"}, headers=ctx["auth"])
    ).status_code == 409
    assert (
        await api.client.post("/2fa/disable", json={"code": "123456"}, headers=ctx["auth"])
    ).status_code == 409
    assert (await api.client.post("/2fa/enable")).status_code == 401
    secret, _ = await _enrol(api, ctx["auth"])
    assert (await api.client.post("/2fa/enable", headers=ctx["auth"])).status_code == 409
    fresh = await api.client.post(
        "/2fa/recovery-codes", json={"code": totp_code(secret)}, headers=ctx["auth"]
    )
    assert fresh.status_code == 200 and len(fresh.json()["recovery_codes"]) == 10
