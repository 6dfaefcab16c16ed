"""Races on real commits: requests on separate connections held at one lock, then let go together.

Each test holds a lock on its own connection, starts two requests, waits until Postgres shows
both of them waiting (so they have both passed their checks), releases the lock and looks at
what committed.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from .conftest import PASSWORD, Live, query_of


async def test_concurrent_registrations_with_one_email_create_one_account(live: Live) -> None:
    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "first_name": "Lucía", "last_name": "Martín"}
    async with live.database.engine.connect() as holder:
        held = await holder.begin()
        await holder.execute(text("LOCK TABLE auth.users IN SHARE MODE"))
        first = asyncio.create_task(live.client.post("/register", json=body))
        second = asyncio.create_task(live.client.post("/register", json=body))
        await live.database.wait_for_lock_waiters(2)
        await held.rollback()
    answers = await asyncio.gather(first, second)

    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    count = await live.conn.scalar(text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": email})
    assert count == 1


async def test_admins_demoting_each_other_at_once_leave_an_admin(live: Live) -> None:
    ana = await live.signed_in("admin")
    bea = await live.signed_in("admin")
    async with live.database.engine.connect() as holder:
        held = await holder.begin()
        # Both requests reach the point where they revoke the other's sessions, after their checks.
        await holder.execute(text("LOCK TABLE auth.sessions IN SHARE MODE"))
        demote_bea = asyncio.create_task(
            live.client.put(
                f"/admin/users/{bea['user']['id']}/role", json={"role": "agent"}, headers=ana["auth"]
            )
        )
        disable_ana = asyncio.create_task(
            live.client.post(f"/admin/users/{ana['user']['id']}/disable", headers=bea["auth"])
        )
        await live.database.wait_for_lock_waiters(2)
        await held.rollback()
    answers = await asyncio.gather(demote_bea, disable_ana)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert "last active administrator" in refused.json()["detail"]
    admins = await live.conn.scalar(
        text("SELECT count(*) FROM auth.users WHERE role = 'admin' AND status = 'active'")
    )
    assert admins == 1


async def _request_email_change(live: Live, ctx: dict[str, object], new_email: str) -> str:
    auth = ctx["auth"]
    assert isinstance(auth, dict)
    asked = await live.client.post(
        "/me/email", json={"new_email": new_email, "current_password": PASSWORD}, headers=auth
    )
    assert asked.status_code == 202, asked.text
    user = ctx["user"]
    assert isinstance(user, dict)
    event = (await live.events("auth.email_change_requested", key=user["id"]))[-1]
    return query_of(event["data"]["verification_url"])["token"]


async def test_two_accounts_claiming_one_address_at_once_get_one_409(live: Live) -> None:
    """The loser's UPDATE fails at COMMIT: the request session turns it into a 409 naming the field."""
    target = f"wanted-{uuid.uuid4().hex[:8]}@example.com"
    one, two = await live.signed_in(), await live.signed_in()
    tokens = [await _request_email_change(live, ctx, target) for ctx in (one, two)]
    async with live.database.engine.connect() as holder:
        held = await holder.begin()
        await holder.execute(text("LOCK TABLE auth.users IN SHARE MODE"))
        tasks = [
            asyncio.create_task(live.client.post("/verify-email-change", json={"token": t})) for t in tokens
        ]
        await live.database.wait_for_lock_waiters(2)
        await held.rollback()
    answers = await asyncio.gather(*tasks)

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    conflict = next(a for a in answers if a.status_code == 409)
    assert conflict.headers["content-type"] == "application/problem+json"
    assert conflict.json()["errors"][0]["field"] == "email"
    owners = await live.conn.scalar(text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": target})
    assert owners == 1


async def test_wrong_passwords_sent_at_once_are_all_counted(live: Live) -> None:
    user = await live.register()
    ip = {"X-Forwarded-For": "198.51.100.30"}
    async with live.database.engine.connect() as holder:
        held = await holder.begin()
        await holder.execute(text("LOCK TABLE auth.login_throttles IN SHARE MODE"))
        tries = [
            asyncio.create_task(live.login(user["email"], f"Wrong-Password-{n}!", **ip)) for n in range(3)
        ]
        await live.database.wait_for_lock_waiters(3)
        await held.rollback()
    assert [t.status_code for t in await asyncio.gather(*tries)] == [401, 401, 401]
    counted = {
        row.key.split(":", 1)[0]: (row.failures, row.delayed)
        for row in await live.conn.execute(
            text("SELECT key, failures, next_allowed_at IS NOT NULL AS delayed FROM auth.login_throttles")
        )
    }
    # Three failures on every key; past the two free attempts per account and address, a delay.
    assert counted == {"account_ip": (3, True), "account": (3, False), "ip": (3, False)}
