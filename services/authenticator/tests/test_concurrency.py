"""Races on real commits: requests on separate connections held at one lock, then let go together.

Each test holds a lock on its own connection, starts two requests, waits until Postgres shows
both of them waiting (so they have both passed their checks), releases the lock and looks at
what committed.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from .conftest import Live


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
