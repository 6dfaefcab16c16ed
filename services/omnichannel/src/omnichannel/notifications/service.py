"""The notification centre: store once per source event, push live, honour each user's channels."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_shared.errors import NotFound, UnprocessableEntity
from omnichannel.contacts import service as contacts
from omnichannel.core import live
from omnichannel.messaging import templated
from omnichannel.notifications import repository, slack
from omnichannel.notifications.models import KINDS, STAFF_MESSAGE, Notification
from omnichannel.notifications.schemas import (
    NotificationOut,
    PreferenceIn,
    PreferenceOut,
    StaffMessageIn,
    StaffMessageOut,
)

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
    alert_key: str | None = None,
) -> Notification | None:
    """Notify a user once per ``source_event_id``: in the app (pushed live) and on the channels
    they chose for this kind. None when it was already done or they switched it off.

    A staff alert kind is also queued for Slack, once per ``alert_key`` (default: the source event), so
    an alert sent to several users is posted once."""
    key = alert_key or source_event_id
    await slack.enqueue(
        session, kind=kind, title=title, body=body, link=link, dedupe_key=key or f"note:{uuid.uuid4()}"
    )
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
    session: AsyncSession, *, user_id: uuid.UUID, unread_only: bool, after: list[Any] | None, limit: int
) -> tuple[list[Notification], list[Any] | None]:
    return await repository.for_user(session, user_id, unread_only=unread_only, after=after, limit=limit)


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


STAFF_ROLES = ["admin", "supervisor", "agent"]
DEFAULT_STAFF_TITLE = "Mensaje del equipo"


async def send_by_hand(
    session: AsyncSession, *, sender_id: uuid.UUID, message: StaffMessageIn
) -> StaffMessageOut:
    """A supervisor's or admin's message to a user, a role or all staff: one notification in each
    recipient's history, pushed live (and one Slack post when ``staff_message`` has a webhook).
    An unknown user or a role nobody holds is a 422 with nothing stored."""
    if message.user_id is not None:
        if await contacts.user(session, user_id=message.user_id) is None:
            raise UnprocessableEntity(f"No user {message.user_id} is known to the notification centre.")
        recipients = [message.user_id]
    else:
        roles: list[str] = [message.role] if message.role is not None else STAFF_ROLES
        recipients = await contacts.users_with_roles(session, roles=roles)
        if not recipients:
            raise UnprocessableEntity(
                f"Nobody holds the role {message.role}." if message.role else "There is no staff."
            )
    message_id = uuid.uuid4()
    title = message.title or DEFAULT_STAFF_TITLE
    for user_id in recipients:
        await notify(
            session,
            user_id=user_id,
            kind=STAFF_MESSAGE,
            title=title,
            body=message.text,
            data={"message_id": str(message_id), "sent_by": str(sender_id)},
            source_event_id=f"{STAFF_MESSAGE}:{message_id}:{user_id}",
            alert_key=f"{STAFF_MESSAGE}:{message_id}",
        )
    return StaffMessageOut(id=message_id, recipients=len(recipients))
