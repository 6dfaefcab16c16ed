"""The demo-account seed command and the worker's scheduled jobs."""

from __future__ import annotations

import os
import sys

import anyio
from fastapi import FastAPI
from sqlalchemy import text

from authenticator.core.runtime import Runtime, build_runtime
from authenticator.jobs import jobs
from authenticator.seed import SEED_USERS, seed
from authenticator.settings import Settings
from authenticator.tokens.keys import build_key_store

from .conftest import Api, make_settings


def worker_runtime(settings: Settings) -> Runtime:
    """The runtime the worker builds (a key store without a cache: it rotates, it never signs)."""
    return build_runtime(settings, keys=build_key_store(settings, cache_seconds=0))


async def test_seed_is_idempotent_and_accounts_sign_in(api: Api, app: FastAPI) -> None:
    result = await anyio.run_process(
        [sys.executable, "-m", "authenticator.seed"], env=dict(os.environ), check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("seeded:")
    settings = app.state.settings
    assert await seed(settings) == []  # second run creates nothing

    password = settings.seed_password.get_secret_value()
    for email, _, _, role in SEED_USERS:
        response = await api.login(email, password)
        assert response.status_code == 200, (email, response.text)
        assert response.json()["user"]["role"] == role.value
        assert response.json()["user"]["email_verified"] is True
    count = await api.conn.scalar(text("SELECT count(*) FROM auth.users WHERE email LIKE '%@aintech.com'"))
    assert count == 7


async def test_purge_job_removes_expired_credentials(api: Api, app: FastAPI) -> None:
    ctx = await api.signed_in()
    await api.conn.execute(
        text("UPDATE auth.refresh_tokens SET expires_at = now() - interval '2 days' WHERE user_id = :u"),
        {"u": ctx["user"]["id"]},
    )
    purge, _ = jobs(worker_runtime(make_settings(api.oidc)))
    async with app.state.db.transaction() as session:
        await purge.func(session)
    remaining = await api.conn.scalar(
        text("SELECT count(*) FROM auth.refresh_tokens WHERE user_id = :u"), {"u": ctx["user"]["id"]}
    )
    assert remaining == 0
    assert (
        await api.client.post("/refresh", json={"refresh_token": ctx["tokens"]["refresh_token"]})
    ).status_code == 401


async def test_rotation_job_replaces_an_old_key(api: Api, app: FastAPI) -> None:
    before = {k["kid"] for k in (await api.client.get("/.well-known/jwks.json")).json()["keys"]}
    await api.conn.execute(
        text("UPDATE auth.signing_keys SET created_at = now() - interval '31 days' WHERE retired_at IS NULL")
    )
    _, rotate = jobs(worker_runtime(make_settings(api.oidc)))
    async with app.state.db.transaction() as session:
        await rotate.func(session)
    after = {k["kid"] for k in (await api.client.get("/.well-known/jwks.json")).json()["keys"]}
    assert before < after and len(after - before) == 1
    active = await api.conn.scalar(text("SELECT count(*) FROM auth.signing_keys WHERE retired_at IS NULL"))
    assert active == 1
