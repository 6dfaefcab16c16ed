"""Hostile input at the edge and abuse of the flows that send e-mail."""

from __future__ import annotations

import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text

from aintech_devtools.testing import rolled_back
from authenticator.app import create_app
from authenticator.settings import OWASP_ARGON2_MEMORY_KIB, OWASP_ARGON2_TIME_COST

from .conftest import PASSWORD, Api, make_settings
from .fake_oidc import FakeOIDC

# --- no input reaches a 500 ----------------------------------------------------------------------


async def test_overlong_request_id_is_replaced_and_the_failed_login_still_counts(api: Api) -> None:
    user = await api.register()
    sent = "r" * 100
    response = await api.login(user["email"], "Wrong-Password-1!", **{"X-Request-ID": sent})
    assert response.status_code == 401, response.text
    minted = response.headers["x-request-id"]
    assert minted != sent and re.fullmatch(r"[0-9a-f]{32}", minted)
    recorded = await api.conn.scalar(
        text("SELECT request_id FROM auth.audit_logs WHERE action = 'login.failed' AND user_id = :u"),
        {"u": user["id"]},
    )
    assert recorded == minted
    counted = await api.conn.scalar(text("SELECT count(*) FROM auth.login_throttles"))
    assert counted and counted >= 2


async def test_nul_characters_are_refused_with_a_field_error(api: Api) -> None:
    body = {"email": f"nul-{uuid.uuid4().hex[:6]}@example.com", "password": PASSWORD, "last_name": "M"}
    registered = await api.client.post("/register", json={**body, "first_name": "Lu\x00cía"})
    assert registered.status_code == 422, registered.text
    assert registered.json()["errors"][0]["field"] == "first_name"

    ctx = await api.signed_in("admin")
    patched = await api.client.patch("/me", json={"last_name": "Mar\x00tín"}, headers=ctx["auth"])
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "last_name"
    login = await api.client.post(
        "/login", json={"email": ctx["user"]["email"], "password": "Pass\x00word-1"}
    )
    assert login.status_code == 422 and login.json()["errors"][0]["field"] == "password"
    searched = await api.client.get("/admin/users", params={"q": "ana\x00"}, headers=ctx["auth"])
    assert searched.status_code == 422, searched.text
    assert searched.json()["errors"][0] == {
        "location": "query",
        "field": "q",
        "message": "must not contain NUL characters",
        "type": "nul_character",
    }
    disabled = await api.client.post(
        f"/admin/users/{ctx['user']['id']}/disable", json={"reason": "\x00"}, headers=ctx["auth"]
    )
    assert disabled.status_code == 422
    callback = await api.client.get("/oauth/google/callback", params={"state": "abc\x00", "code": "x"})
    assert callback.status_code == 422


async def test_audit_filters_refuse_instants_outside_the_calendar(api: Api) -> None:
    ctx = await api.signed_in("admin")
    for name, value in (
        ("since", "0001-01-01T00:00:00+01:00"),
        ("until", "9999-12-31T23:59:59-01:00"),
        ("since", "0001-01-01T00:29:59+00:30"),
    ):
        refused = await api.client.get("/admin/audit", params={name: value}, headers=ctx["auth"])
        assert refused.status_code == 422, (value, refused.text)
        assert refused.json()["errors"][0]["field"] == name
    odd = await api.client.get(
        "/admin/audit", params={"since": "2026-01-01T00:00:00+05:17"}, headers=ctx["auth"]
    )
    assert odd.status_code == 200, odd.text


async def test_forwarded_ipv6_zone_ids_are_dropped(api: Api) -> None:
    user = await api.register()
    short = await api.login(user["email"], **{"X-Forwarded-For": "fe80::1%eth0"})
    assert short.status_code == 200
    long_zone = await api.login(user["email"], **{"X-Forwarded-For": "fe80::2%" + "z" * 60})
    assert long_zone.status_code == 200, long_zone.text
    ips = [r["ip"] for r in await api.audit("login.succeeded", user["id"])]
    assert ips == ["fe80::1", "fe80::2"]


# --- e-mail flows: indistinguishable, limited ----------------------------------------------------


def _signup(email: str) -> dict[str, Any]:
    return {"email": email, "password": PASSWORD, "first_name": "Lucía", "last_name": "Martín"}


async def test_registering_a_taken_email_answers_like_a_new_one_and_tells_the_owner(api: Api) -> None:
    owner = await api.register()
    fresh = await api.client.post("/register", json=_signup(f"fresh-{uuid.uuid4().hex[:8]}@example.com"))
    taken = await api.client.post("/register", json=_signup(owner["email"].upper()))

    assert fresh.status_code == taken.status_code == 202, taken.text
    assert fresh.json() == taken.json()
    assert fresh.headers["content-type"] == taken.headers["content-type"]
    notices = await api.events("auth.account_exists_notice", key=owner["id"])
    assert [n["data"]["email"] for n in notices] == [owner["email"]]
    assert notices[0]["data"]["sign_in_url"].startswith("https://app.aintech.test/")
    count = await api.conn.scalar(
        text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": owner["email"]}
    )
    assert count == 1


@pytest.fixture(scope="module")
async def costly_app(admin_database_url: str, oidc: FakeOIDC) -> AsyncIterator[FastAPI]:
    """The app with production Argon2id cost, so hashing dominates a sign-up as it does in production."""
    application = create_app(
        make_settings(
            oidc,
            password_hash_memory_kib=OWASP_ARGON2_MEMORY_KIB,
            password_hash_time_cost=OWASP_ARGON2_TIME_COST,
            signup_max_per_ip_per_hour=1000,
            password_reset_max_per_ip_per_hour=1000,
        )
    )
    async with application.router.lifespan_context(application):
        yield application


async def _timed(client: AsyncClient, path: str, body: dict[str, Any]) -> float:
    start = time.perf_counter()
    response = await client.post(path, json=body)
    elapsed = time.perf_counter() - start
    assert response.status_code == 202, response.text
    return elapsed


async def test_taken_and_free_addresses_take_about_as_long(costly_app: FastAPI) -> None:
    """Medians of interleaved requests, compared loosely: on a busy machine only a path that skips
    the work (no hash, no writes) falls outside a factor of two."""
    async with (
        rolled_back(costly_app.state.db) as conn,
        AsyncClient(transport=ASGITransport(app=costly_app), base_url="http://auth.test") as client,
    ):
        api = Api(client=client, conn=conn, oidc=FakeOIDC(base_url=""))
        owners = [await api.register() for _ in range(9)]
        free, taken, unknown, known = [], [], [], []
        for owner in owners:
            fresh = f"t-{uuid.uuid4().hex[:8]}@example.com"
            free.append(await _timed(client, "/register", _signup(fresh)))
            taken.append(await _timed(client, "/register", _signup(owner["email"])))
            unknown.append(
                await _timed(client, "/forgot-password", {"email": f"n-{uuid.uuid4().hex[:8]}@x.es"})
            )
            known.append(await _timed(client, "/forgot-password", {"email": owner["email"]}))
        ratios = {
            "register": statistics.median(taken) / statistics.median(free),
            "forgot-password": statistics.median(known) / statistics.median(unknown),
        }
        assert all(0.5 < r < 2.0 for r in ratios.values()), ratios
        assert len(await api.events("auth.account_exists_notice")) == 9, "the taken path did its work"


async def test_sign_ups_are_limited_per_address_and_per_ip(api: Api) -> None:
    ip = {"X-Forwarded-For": "198.51.100.61"}
    owner = await api.register()
    # Two sign-ups per address an hour (in these tests): the first created the account, the second
    # tells its owner, the rest are answered alike and dropped.
    for _ in range(3):
        assert (
            await api.client.post("/register", json=_signup(owner["email"]), headers=ip)
        ).status_code == 202
    assert len(await api.events("auth.account_exists_notice", key=owner["id"])) == 1

    other_ip = {"X-Forwarded-For": "198.51.100.62"}
    statuses = [
        (
            await api.client.post(
                "/register", json=_signup(f"s{n}-{uuid.uuid4().hex[:6]}@example.com"), headers=other_ip
            )
        ).status_code
        for n in range(9)
    ]
    assert statuses == [202] * 8 + [429]
    limited = await api.client.post(
        "/register", json=_signup(f"late-{uuid.uuid4().hex[:6]}@example.com"), headers=other_ip
    )
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0


async def test_password_reset_mails_are_limited_per_address_and_per_ip(api: Api) -> None:
    ctx = await api.signed_in()
    for n in range(5):
        sent = await api.client.post(
            "/forgot-password",
            json={"email": ctx["user"]["email"]},
            headers={"X-Forwarded-For": f"192.0.2.{n}"},
        )
        assert sent.status_code == 202
    assert len(await api.events("auth.password_reset_requested", key=ctx["user"]["id"])) == 3

    ip = {"X-Forwarded-For": "198.51.100.70"}
    statuses = [
        (
            await api.client.post("/forgot-password", json={"email": f"x{n}@example.com"}, headers=ip)
        ).status_code
        for n in range(6)
    ]
    assert statuses == [202] * 5 + [429]


async def test_verification_resend_has_a_cool_down(api: Api) -> None:
    user = await api.register()
    login = await api.login(user["email"])
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

    too_soon = await api.client.post("/verify-email/resend", headers=auth)
    assert too_soon.status_code == 429
    assert 0 < int(too_soon.headers["retry-after"]) <= 60
    await api.conn.execute(
        text(
            "UPDATE auth.one_time_tokens SET created_at = created_at - interval '2 minutes'"
            " WHERE user_id = :u"
        ),
        {"u": user["id"]},
    )
    assert (await api.client.post("/verify-email/resend", headers=auth)).status_code == 202
    assert len(await api.events("auth.email_verification_requested", key=user["id"])) == 2
