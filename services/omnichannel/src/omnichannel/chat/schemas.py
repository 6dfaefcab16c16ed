"""Bodies of the chat endpoints."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from omnichannel.conversations.schemas import ConversationOut
from omnichannel.core.text import ChatBody
from omnichannel.messaging.schemas import MessageOut


class ChatStart(BaseModel):
    """A customer starts (or resumes) their chat; staff name the customer (one with an account)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}]})

    customer_id: uuid.UUID | None = None


class ChatMessageIn(BaseModel):
    """``client_id`` makes a retry safe: the same id never stores a second message."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"body": "Hola, tengo una duda con mi póliza", "client_id": "c-1"}]},
    )

    body: ChatBody
    client_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class ChatView(BaseModel):
    conversation: ConversationOut
    messages: list[MessageOut]
