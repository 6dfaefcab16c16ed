"""The notification centre: store once per source event, push live, honour each user's channels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import NotFound
from omnichannel.contacts import service as contacts
from omnichannel.core import live
from omnichannel.messaging import templated
from omnichannel.notifications import repository
from omnichannel.notifications.models import KINDS, Notification
from omnichannel.notifications.schemas import NotificationOut, PreferenceIn, PreferenceOut

DEFAULTS = {"in_app": True, "email": False, "sms": False, "whatsapp": False}


async def notify(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    kind: str,
    title: str,
    body: str,
    link: str | None = None,
    data: dict[str, Any] | None = None,
    source_event_id: str | None = None,
) -> Notification | None:
    """Notify a user once per ``source_event_id``: in the app (pushed live) and on the channels
    they chose for this kind. None when it was already done or they switched it off."""
    pref = await repository.preference(session, user_id, kind)
    channels = {k: getattr(pref, k) for k in DEFAULTS} if pref else dict(DEFAULTS)
    note: Notification | None = None
    if channels["in_app"]:
        note = await repository.insert_once(
            session,
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "kind": kind,
                "title": title[:200],
                "body": body[:1000],
                "link": link,
                "data": data or {},
                "source_event_id": source_event_id,
            },
        )
        if note is None:
            return None
        unread = await repository.unread_count(session, user_id)
        await live.notify(
            session,
            live.user_topic(user_id),
            {"type": "notification", "notification": _out(note), "unread": unread},
        )
    for channel in ("email", "sms", "whatsapp"):
        if not channels[channel]:
            continue
        recipient = await contacts.recipient_for_user(session, user_id=user_id)
        if recipient is None:
            continue
        await templated.send_template(
            session,
            recipient=recipient,
            template="notification",
            variables={"title": title, "body": body},
            channel=channel,
            purpose="transactional",
            context={"notification_kind": kind},
        )
    return note


def _out(note: Notification) -> dict[str, Any]:
    return NotificationOut.model_validate(note).model_dump(mode="json")


async def listing(
    session: AsyncSession, *, user_id: uuid.UUID, unread_only: bool, offset: int, limit: int
) -> tuple[Sequence[Notification], int]:
    return await repository.for_user(session, user_id, unread_only=unread_only, offset=offset, limit=limit)


async def unread(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    return await repository.unread_count(session, user_id)


async def mark_read(session: AsyncSession, *, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    """Mark one of the caller's notifications read (another user's is 404)."""
    note = await repository.mark_read(session, user_id, notification_id)
    if note is None:
        raise NotFound("No such notification.")
    await _push_count(session, user_id=user_id)
    return note


async def mark_all_read(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    count = await repository.mark_all_read(session, user_id)
    await _push_count(session, user_id=user_id)
    return count


async def _push_count(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    unread_now = await repository.unread_count(session, user_id)
    await live.notify(session, live.user_topic(user_id), {"type": "unread", "unread": unread_now})


async def preferences(session: AsyncSession, *, user_id: uuid.UUID) -> list[PreferenceOut]:
    stored = {p.kind: p for p in await repository.preferences(session, user_id)}
    out = []
    for kind in KINDS:
        pref = stored.get(kind)
        values = {k: getattr(pref, k) for k in DEFAULTS} if pref else dict(DEFAULTS)
        out.append(PreferenceOut(kind=kind, **values))
    return out


async def set_preferences(
    session: AsyncSession, *, user_id: uuid.UUID, items: list[PreferenceIn]
) -> list[PreferenceOut]:
    for item in items:
        await repository.set_preference(session, {"user_id": user_id, **item.model_dump()})
    return await preferences(session, user_id=user_id)
