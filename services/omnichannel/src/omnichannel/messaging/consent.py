"""Consent: STOP/BAJA and START/ALTA keywords, opt-outs recorded and published, and whether a
message may go to an address (WhatsApp and SMS: any; e-mail: marketing only)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.events.omnichannel import (
    ContactOptedIn,
    ContactOptedOut,
)
from omnichannel.core.base import utcnow
from omnichannel.core.events import OUTBOX
from omnichannel.messaging import repository
from omnichannel.messaging.models import OptOut

OPT_OUT_KEYWORDS = frozenset({"STOP", "BAJA", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "CANCELAR"})


OPT_IN_KEYWORDS = frozenset({"START", "ALTA", "UNSTOP", "YES"})


async def set_consent(
    session: AsyncSession,
    *,
    channel: str,
    address: str,
    opted_out: bool,
    keyword: str,
    customer_id: uuid.UUID | None,
) -> None:
    """Record an opt-out (or opt back in) and publish it; repeating the same state is a no-op."""
    current = await repository.opt_out_state(session, channel, address)
    if current is None and not opted_out:
        return
    if current is not None and current.opted_out == opted_out:
        return
    await repository.set_opt_out(
        session,
        channel=channel,
        address=address,
        opted_out=opted_out,
        keyword=keyword,
        customer_id=customer_id,
    )
    now = utcnow()
    event: ContactOptedOut | ContactOptedIn = (
        ContactOptedOut(
            channel=channel, address=address, customer_id=customer_id, keyword=keyword, opted_out_at=now
        )
        if opted_out
        else ContactOptedIn(
            channel=channel, address=address, customer_id=customer_id, keyword=keyword, opted_in_at=now
        )
    )
    await OUTBOX.publish(session, event, key=address)


async def is_opted_out(session: AsyncSession, *, channel: str, address: str) -> bool:
    state: OptOut | None = await repository.opt_out_state(session, channel, address)
    return bool(state and state.opted_out)


def consent_applies(*, channel: str, purpose: str) -> bool:
    """STOP on WhatsApp or SMS stops everything there; on e-mail an unsubscribe stops marketing."""
    return channel in ("whatsapp", "sms") or purpose == "marketing"


async def opt_outs(
    session: AsyncSession, *, after: list[Any] | None, limit: int
) -> tuple[list[OptOut], list[Any] | None]:
    return await repository.opt_outs(session, after=after, limit=limit)
