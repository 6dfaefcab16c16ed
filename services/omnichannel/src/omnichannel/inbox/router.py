"""One inbox across WhatsApp, SMS, e-mail and chat."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, status

from aintech_contracts.rbac import Permission
from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from omnichannel.agents import service as agents
from omnichannel.agents.schemas import AgentOut, CapacityIn, PresenceIn
from omnichannel.conversations import service as conversations
from omnichannel.conversations.schemas import (
    AssignRequest,
    Channel,
    ConversationOut,
    ConversationUpdate,
    NoteIn,
    NoteOut,
    Status,
)
from omnichannel.core import sockets
from omnichannel.core.deps import Caller, Sender, Supervisor, ensure_staff, user_uuid
from omnichannel.core.request import SettingsDep
from omnichannel.core.text import Label
from omnichannel.inbox import service, socket
from omnichannel.messaging import sending
from omnichannel.messaging import store as message_store
from omnichannel.messaging.schemas import MessageOut, ReplyIn

router = APIRouter(tags=["inbox"])

NOT_FOUND = responses((404, "No such conversation (or not yours)"))


@router.get(
    "/conversations",
    response_model=CursorPage[ConversationOut],
    summary="The unified inbox",
    description="Every channel in one list, most recent activity first. Filters: status (open, pending, "
    "snoozed, resolved), channel, assignee, `unassigned=true` (the queue), label, customer. A customer "
    "sees only their own conversations. Cursor pagination.",
    responses=responses((422, "Invalid filter or cursor")),
)
async def list_conversations(
    principal: Caller,
    db: DbSession,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    channel: Channel | None = None,
    assignee_id: uuid.UUID | None = None,
    unassigned: bool = False,
    label: Annotated[Label | None, Query()] = None,
    customer_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[ConversationOut]:
    rows, next_key = await conversations.search(
        db,
        principal=principal,
        status=status_,
        channel=channel,
        assignee_id=assignee_id,
        unassigned=unassigned,
        label=label.lower() if label else None,
        customer_id=customer_id,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage.build(rows, next_key, item=ConversationOut.model_validate)


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    summary="One conversation",
    responses=NOT_FOUND,
)
async def get_conversation(conversation_id: uuid.UUID, principal: Caller, db: DbSession) -> ConversationOut:
    return ConversationOut.model_validate(
        await conversations.get_for(db, principal=principal, conversation_id=conversation_id)
    )


@router.get(
    "/conversations/{conversation_id}/messages",
    response_model=list[MessageOut],
    summary="Messages of a conversation after a sequence number",
    description="In order; `after` is the last `seq` the client has (0 for the start).",
    responses=NOT_FOUND,
)
async def conversation_messages(
    conversation_id: uuid.UUID,
    principal: Caller,
    db: DbSession,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageOut]:
    conversation = await conversations.get_for(db, principal=principal, conversation_id=conversation_id)
    rows = await message_store.in_conversation(db, conversation=conversation, after=after, limit=limit)
    return [MessageOut.model_validate(m) for m in rows]


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    summary="Change status (open, pending, snoozed, resolved) or labels",
    description="Resolving or snoozing frees the agent: the oldest queued conversation is assigned at once. "
    "Snoozing needs `snoozed_until` in the future.",
    responses={
        **NOT_FOUND,
        **responses(
            (422, "Snoozing without a future `snoozed_until`", "Snoozing needs a future snoozed_until.")
        ),
    },
)
async def update_conversation(
    conversation_id: uuid.UUID, body: ConversationUpdate, principal: Sender, db: DbSession
) -> ConversationOut:
    conversation = await service.update_conversation(
        db,
        principal=principal,
        conversation_id=conversation_id,
        status=body.status,
        snoozed_until=body.snoozed_until,
        labels=body.labels,
    )
    return ConversationOut.model_validate(conversation)


@router.post(
    "/conversations/{conversation_id}/assign",
    response_model=ConversationOut,
    summary="Assign to an agent, or unassign (back to the queue)",
    description="An agent may take an unassigned conversation for themselves, and the assignee may hand "
    "theirs over (to a colleague, or back to the queue). Taking a conversation assigned to someone else, "
    "or assigning one that is not yours, is a supervisor's act (403 otherwise).",
    responses=responses(
        (403, "Only supervisors reassign a colleague's conversation"),
        (404, "No such conversation"),
        (422, "Unknown agent"),
    ),
)
async def assign(
    conversation_id: uuid.UUID, body: AssignRequest, principal: Sender, db: DbSession
) -> ConversationOut:
    conversation = await service.assign(
        db, principal=principal, conversation_id=conversation_id, agent_id=body.agent_id
    )
    return ConversationOut.model_validate(conversation)


@router.post(
    "/conversations/{conversation_id}/reply",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=MessageOut,
    summary="Reply on the conversation's channel",
    description="WhatsApp, SMS, e-mail (threaded: In-Reply-To the customer's last e-mail) or chat.",
    responses={**NOT_FOUND, **responses((409, "The customer opted out"), (429, "Too many messages"))},
)
async def reply(
    conversation_id: uuid.UUID, body: ReplyIn, principal: Sender, db: DbSession, settings: SettingsDep
) -> MessageOut:
    conversation = await conversations.get_for(
        db, principal=principal, conversation_id=conversation_id, for_update=True
    )
    message = await sending.reply(
        db,
        settings=settings,
        sender_id=user_uuid(principal),
        conversation=conversation,
        body=body.body,
        subject=body.subject,
        media_urls=[str(u) for u in body.media_urls],
    )
    return MessageOut.model_validate(message)


@router.post(
    "/conversations/{conversation_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    summary="Add a private note (agents only, never sent)",
    responses=NOT_FOUND,
)
async def add_note(conversation_id: uuid.UUID, body: NoteIn, principal: Sender, db: DbSession) -> NoteOut:
    conversation = await conversations.get_for(db, principal=principal, conversation_id=conversation_id)
    note = await conversations.add_note(
        db, conversation=conversation, author_id=user_uuid(principal), body=body.body
    )
    return NoteOut.model_validate(note)


@router.get(
    "/conversations/{conversation_id}/notes",
    response_model=list[NoteOut],
    summary="Private notes of a conversation",
    responses=NOT_FOUND,
)
async def list_notes(conversation_id: uuid.UUID, principal: Sender, db: DbSession) -> list[NoteOut]:
    conversation = await conversations.get_for(db, principal=principal, conversation_id=conversation_id)
    return [NoteOut.model_validate(n) for n in await conversations.notes(db, conversation=conversation)]


@router.get("/agents", response_model=list[AgentOut], summary="Agents, presence and load")
async def list_agents(principal: Sender, db: DbSession) -> list[AgentOut]:
    return [
        AgentOut.model_validate(agent).model_copy(update={"active_conversations": count})
        for agent, count in await agents.listing(db)
    ]


@router.put(
    "/agents/me/presence",
    response_model=AgentOut,
    summary="Go online, away or offline",
    description="Online agents receive new conversations round-robin up to their capacity; going online "
    "takes waiting conversations at once.",
)
async def set_presence(body: PresenceIn, principal: Sender, db: DbSession, settings: SettingsDep) -> AgentOut:
    ensure_staff(principal)
    agent = await agents.set_presence(
        db,
        user_id=user_uuid(principal),
        display_name=principal.email,
        status=body.status,
        capacity=body.capacity,
        default_capacity=settings.default_agent_capacity,
    )
    return AgentOut.model_validate(agent)


@router.put(
    "/agents/{agent_id}/capacity",
    response_model=AgentOut,
    summary="Set an agent's capacity (supervisors)",
    responses=responses((403, "Supervisors only"), (422, "Unknown agent")),
)
async def set_capacity(
    agent_id: uuid.UUID,
    body: CapacityIn,
    principal: Supervisor,
    db: DbSession,
) -> AgentOut:
    return AgentOut.model_validate(await agents.set_capacity(db, user_id=agent_id, capacity=body.capacity))


@router.websocket("/ws/inbox")
async def inbox_socket(websocket: WebSocket) -> None:
    """Staff's live inbox: ``conversation.updated``, ``message.created`` and ``message.status``."""
    auth = await sockets.authenticate(websocket)
    if auth is None:
        return
    principal, subprotocol = auth
    if not principal.has(Permission.messages_send):
        await websocket.close(code=sockets.CLOSE_FORBIDDEN, reason="staff only")
        return
    await socket.serve(websocket, subprotocol=subprotocol)
