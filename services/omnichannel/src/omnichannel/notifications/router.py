"""The notification centre over REST and live over ``/ws/notifications``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket

from aintech_contracts.rbac import Role
from aintech_shared.auth import Principal, require_roles
from aintech_shared.db import Database, DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from omnichannel.core import sockets
from omnichannel.core.deps import Caller, user_uuid
from omnichannel.core.live import LiveHub, user_topic
from omnichannel.notifications import service
from omnichannel.notifications.schemas import (
    NotificationOut,
    PreferenceOut,
    PreferencesIn,
    StaffMessageIn,
    StaffMessageOut,
    UnreadCount,
)
from omnichannel.settings import Settings

router = APIRouter(tags=["notifications"])

SupervisorOrAdmin = Annotated[Principal, Depends(require_roles(Role.supervisor, Role.admin))]


@router.get(
    "/notifications",
    response_model=CursorPage[NotificationOut],
    summary="My notifications (newest first)",
    description="Policy expiring, claim status changed, task assigned, quote accepted, fraud alerts, "
    "messages sent by hand by supervisors (`staff_message`). "
    "Cursor pagination.",
    responses=responses((422, "Invalid cursor")),
)
async def list_notifications(
    principal: Caller, db: DbSession, unread: bool = False, cursor: Cursor = None, limit: Limit = 50
) -> CursorPage[NotificationOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.listing(
        db, user_id=user_uuid(principal), unread_only=unread, after=after, limit=limit
    )
    return CursorPage.build(rows, next_key, item=NotificationOut.model_validate)


@router.post(
    "/notifications/messages",
    status_code=201,
    response_model=StaffMessageOut,
    summary="Send a message by hand to a user, a role or all staff",
    description="Supervisors and admins (anyone else: 403). Give exactly one of `user_id`, `role` "
    "(`admin`, `supervisor`, `agent`) or `everyone: true` (every member of staff). Each recipient gets a "
    "`staff_message` notification in their history (`data.message_id`, `data.sent_by`), pushed live on "
    "`/ws/notifications`; with a Slack webhook configured for `staff_message` it is also posted there once. "
    "An unknown user, a role nobody holds, a blank text or an unknown field is refused with nothing stored.",
    responses=responses(
        (403, "Only supervisors and admins send messages"),
        (422, "Unknown user, a role nobody holds, no audience or more than one, blank text"),
    ),
)
async def send_message(body: StaffMessageIn, principal: SupervisorOrAdmin, db: DbSession) -> StaffMessageOut:
    return await service.send_by_hand(db, sender_id=user_uuid(principal), message=body)


@router.get("/notifications/unread-count", response_model=UnreadCount, summary="How many are unread")
async def unread_count(principal: Caller, db: DbSession) -> UnreadCount:
    return UnreadCount(unread=await service.unread(db, user_id=user_uuid(principal)))


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationOut,
    summary="Mark one notification read",
    responses=responses((404, "No such notification (or not yours)")),
)
async def mark_read(notification_id: uuid.UUID, principal: Caller, db: DbSession) -> NotificationOut:
    note = await service.mark_read(db, user_id=user_uuid(principal), notification_id=notification_id)
    return NotificationOut.model_validate(note)


@router.post("/notifications/read-all", response_model=UnreadCount, summary="Mark all my notifications read")
async def mark_all_read(principal: Caller, db: DbSession) -> UnreadCount:
    await service.mark_all_read(db, user_id=user_uuid(principal))
    return UnreadCount(unread=0)


@router.get(
    "/notifications/preferences",
    response_model=list[PreferenceOut],
    summary="Where each kind of notification goes (in app, e-mail, SMS, WhatsApp)",
)
async def get_preferences(principal: Caller, db: DbSession) -> list[PreferenceOut]:
    return await service.preferences(db, user_id=user_uuid(principal))


@router.put(
    "/notifications/preferences",
    response_model=list[PreferenceOut],
    summary="Change my notification channels",
)
async def put_preferences(body: PreferencesIn, principal: Caller, db: DbSession) -> list[PreferenceOut]:
    return await service.set_preferences(db, user_id=user_uuid(principal), items=body.preferences)


@router.websocket("/ws/notifications")
async def notifications_socket(websocket: WebSocket) -> None:
    """Live notifications of the caller: ``hello`` with the unread count, then ``notification`` and
    ``unread`` events (``resync``: re-read the list)."""
    auth = await sockets.authenticate(websocket)
    if auth is None:
        return
    principal, subprotocol = auth
    db: Database = websocket.app.state.db
    hub: LiveHub = websocket.app.state.hub
    settings: Settings = websocket.app.state.settings
    user_id = user_uuid(principal)
    subscription = hub.subscribe(user_topic(user_id))
    await websocket.accept(subprotocol=subprotocol)
    async with db.transaction() as session:
        count = await service.unread(session, user_id=user_id)
    await sockets.send_json(websocket, {"type": "hello", "unread": count})

    async def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == "resync":
            async with db.transaction() as session:
                event = {"type": "resync", "unread": await service.unread(session, user_id=user_id)}
        await sockets.send_json(websocket, event)

    async def on_client(frame: dict[str, Any]) -> None:
        await sockets.send_json(
            websocket, {"type": "error", "code": "read_only", "detail": "This socket only pushes."}
        )

    await sockets.serve(
        websocket,
        subscription=subscription,
        on_client=on_client,
        on_event=on_event,
        heartbeat=settings.chat_heartbeat_seconds,
    )
