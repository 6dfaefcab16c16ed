"""Unmatched calls and messages nobody links within the retention period are purged, and logged."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from aintech_contracts.events.crm import InteractionLogged
from core_crm.core.base import utcnow
from core_crm.intake import service as intake

from .conftest import Live


def _call(phone: str) -> InteractionLogged:
    return InteractionLogged(
        source="telephony",
        external_id=f"CA{uuid.uuid4().hex}",
        type="call",
        direction="inbound",
        occurred_at=datetime.now(UTC) - timedelta(minutes=5),
        phone=phone,
        summary="Pregunta por un seguro de hogar.",
    )


async def test_open_unmatched_contacts_past_retention_are_purged_and_logged(
    live: Live, live_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    db, rt = live_app.state.db, live_app.state.runtime
    phone = f"+346{secrets.randbelow(10**8):08d}"
    kept: list[str] = []
    async with db.transaction() as session:
        for _ in range(3):
            row = await intake.take_in(session, rt=rt, data=_call(phone))
            kept.append(str(row.id))
    stale, to_link, to_dismiss = kept
    customer = await live.customer()
    await live.call(
        "POST", f"/unmatched-interactions/{to_link}/link", json={"customer_id": customer["id"]}, expect=200
    )
    await live.call(
        "POST", f"/unmatched-interactions/{to_dismiss}/dismiss", json={"reason": "spam"}, expect=200
    )
    now = utcnow()

    async with db.transaction() as session:
        assert await intake.purge_unmatched(session, retention_days=90, now=now + timedelta(days=89)) == []
    caplog.set_level(logging.INFO, logger="crm.intake")
    caplog.clear()
    async with db.transaction() as session:
        removed = await intake.purge_unmatched(session, retention_days=90, now=now + timedelta(days=91))
    # The service's structured log lines, as the chassis hands them to stdlib logging.
    logs = [r.msg for r in caplog.records if r.name == "crm.intake" and isinstance(r.msg, dict)]
    assert [r["id"] for r in removed] == [stale]
    remaining = await live.conn.scalars(text("SELECT id::text FROM crm.unmatched_interactions ORDER BY id"))
    assert sorted(remaining.all()) == sorted([to_link, to_dismiss])  # linked and dismissed stay
    [line] = [e for e in logs if e["event"] == "unmatched_contact_purged"]
    assert line["id"] == stale and line["external_id"] == removed[0]["external_id"]
    assert phone not in str(logs)  # the log names what was removed, not whose number it was
    [summary] = [e for e in logs if e["event"] == "unmatched_contacts_purged"]
    assert summary["count"] == 1
