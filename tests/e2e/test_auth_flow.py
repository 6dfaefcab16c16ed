"""Accounts and tokens through the gateway, with the event reaching Kafka via the fleet's relay."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from aintech_devtools.testing import find_event

SEED_PASSWORD = "Aintech-Demo-2026!"


def login(gw: httpx.Client, email: str, password: str) -> dict[str, Any]:
    resp = gw.post("/api/auth/login", json={"email": email, "password": password})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_register_login_me_refresh_logout(gw: httpx.Client) -> None:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    registered = gw.post(
        "/api/auth/register",
        json={
            "email": email,
            "password": "Tejado-Azul-42!",
            "first_name": "Lucía",
            "last_name": "Martín",
            "phone": "+34 612 345 678",
        },
    )
    assert registered.status_code == 202, registered.text

    assert gw.get("/api/auth/me").status_code == 401
    tokens = login(gw, email, "Tejado-Azul-42!")
    me = gw.get("/api/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == email and me.json()["role"] == "customer"

    rotated = gw.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    same_tab_race = gw.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert same_tab_race.status_code == 200, "the same device racing itself keeps its session"
    reuse = gw.post(
        "/api/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"User-Agent": "curl/8.5.0"},
    )
    assert reuse.status_code == 401, "a rotated refresh token replayed by another device is refused"
    after = gw.post("/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]})
    assert after.status_code == 401, "reuse revoked the whole family"


def test_bad_input_through_the_gateway_is_field_level(gw: httpx.Client) -> None:
    resp = gw.post("/api/auth/register", json={"email": "not-an-email", "password": "short"})
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"email", "password", "first_name", "last_name"} <= fields
    broken = gw.post("/api/auth/login", content=b"{", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/problem+json"


def test_seeded_roles_and_rbac(gw: httpx.Client) -> None:
    admin = login(gw, "admin@aintech.com", SEED_PASSWORD)
    agent = login(gw, "agent1@aintech.com", SEED_PASSWORD)
    users = gw.get("/api/auth/admin/users", headers={"Authorization": f"Bearer {admin['access_token']}"})
    assert users.status_code == 200
    denied = gw.get("/api/auth/admin/audit", headers={"Authorization": f"Bearer {agent['access_token']}"})
    assert denied.status_code == 403
    assert denied.headers["content-type"] == "application/problem+json"


def test_registration_event_is_relayed_to_kafka(gw: httpx.Client, kafka_bootstrap: str) -> None:
    email = f"e2e-{uuid.uuid4().hex[:10]}@example.com"
    resp = gw.post(
        "/api/auth/register",
        json={"email": email, "password": "Tejado-Azul-42!", "first_name": "Ana", "last_name": "Ruiz"},
        headers={"X-Correlation-ID": "e2e-register"},
    )
    assert resp.status_code == 202
    user_id = str(login(gw, email, "Tejado-Azul-42!")["user"]["id"])

    found = asyncio.run(
        find_event(
            kafka_bootstrap,
            "auth.user",
            lambda e: e.type == "user.registered" and e.data.get("user_id") == user_id,
        )
    )
    assert found is not None, "user.registered never reached Kafka"
    event, key = found
    assert key == user_id.encode()
    assert event.data["email"] == email
    assert event.correlationid == "e2e-register"
