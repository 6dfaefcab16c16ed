"""Who may enter a call's signalling room, and what a signalling message may carry."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aintech_contracts.rbac import Permission
from aintech_shared.auth import Principal
from telephony.calls import repository as calls
from telephony.calls.models import TERMINAL
from telephony.core.base import utcnow
from telephony.customers import repository as customers
from telephony.signalling import repository

RELAYED_TYPES = frozenset({"offer", "answer", "ice", "bye"})
MAX_MESSAGE_BYTES = 64 * 1024


class Refused(Exception):
    """The upgrade is refused: an HTTP status at the handshake (problem+json), or close code 4000 + status."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def status(self) -> int:
        return self.code - 4000


async def admit(session: AsyncSession, *, principal: Principal, call_id: uuid.UUID) -> None:
    """The caller is a party of the live call: its agent, a warm-transfer target, or its customer."""
    call = await calls.get(session, call_id)
    if call is None:
        raise Refused(4404, "no such call")
    if call.status in TERMINAL:
        raise Refused(4410, "the call has ended")
    try:
        user_id = uuid.UUID(principal.user_id)
    except ValueError as exc:
        raise Refused(4401, "invalid token subject") from exc
    if principal.has(Permission.calls_handle) and user_id in {call.agent_id, call.transfer_to_agent_id}:
        return
    if principal.has(Permission.self_service) and call.customer_id is not None:
        customer = await customers.get(session, call.customer_id)
        if customer is not None and customer.user_id == user_id:
            return
    raise Refused(4403, "not a party to this call")


async def still_live(session: AsyncSession, *, call_id: uuid.UUID) -> bool:
    """Whether the call has not ended (rooms close when it has)."""
    call = await calls.get(session, call_id)
    return call is not None and call.status not in TERMINAL


def relayable(message: Any, *, peers: Collection[str]) -> tuple[str, dict[str, Any], str | None] | str:
    """(type, payload, to) for a valid message, or the reason it is refused."""
    if not isinstance(message, dict):
        return "a message is a JSON object"
    kind = message.get("type")
    if kind not in RELAYED_TYPES:
        return f"type must be one of {', '.join(sorted(RELAYED_TYPES))}"
    payload = message.get("payload", {})
    if not isinstance(payload, dict):
        return "payload must be an object"
    to = message.get("to")
    if to is not None and (not isinstance(to, str) or to not in peers):
        return "to must be a party in the room"
    return kind, payload, to


async def purge_presence(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget who was in rooms of replicas that went away without leaving; returns how many."""
    return await repository.purge(session, before=utcnow() - older_than)
