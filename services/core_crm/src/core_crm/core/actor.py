"""Who is changing the CRM, for the change history (migration 0010_trail, docs/crm.md).

The history rows are written by database triggers; they read who and through what from four
transaction-local settings (``crm.trail_actor_id``, ``_actor_role``, ``_request_id``,
``_event_id``/``_event_type``). This module sets them:

* at the start of every write transaction of the API (a Session ``after_begin`` hook, installed
  on the write engine only by :func:`install`): the caller recorded by the access guards
  (:func:`acting`) and the request id of the chassis;
* by a consumer, before its handler runs (:func:`stamp_event`): the event id and type.

Nothing set means "system" (a scheduled job).
"""

from __future__ import annotations

import uuid
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session

from aintech_contracts.envelope import CloudEvent
from aintech_shared.auth import Principal
from aintech_shared.context import request_id_var


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str


actor_var: ContextVar[Actor | None] = ContextVar("crm_actor", default=None)

_STAMP = text(
    "SELECT set_config('crm.trail_actor_id', :actor_id, true),"
    " set_config('crm.trail_actor_role', :actor_role, true),"
    " set_config('crm.trail_request_id', :request_id, true),"
    " set_config('crm.trail_event_id', :event_id, true),"
    " set_config('crm.trail_event_type', :event_type, true)"
)

_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def acting(principal: Principal) -> None:
    """Remember the request's caller for the change history (called by the access guards)."""
    actor_var.set(Actor(user_id=principal.user_id, role=principal.role.value))


def acting_as_system() -> None:
    """No user behind this request (a signed inbound webhook): its changes are the system's."""
    actor_var.set(None)


def _user_id(value: str) -> str:
    """The caller's id when it is a UUID (the column's type); otherwise the change is the system's."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


def _params(*, event: CloudEvent | None = None) -> dict[str, str]:
    actor = actor_var.get() if event is None else None
    return {
        "actor_id": _user_id(actor.user_id) if actor else "",
        "actor_role": actor.role[:20] if actor else "",
        "request_id": (request_id_var.get() or "")[:100] if event is None else "",
        "event_id": event.id[:100] if event is not None else "",
        "event_type": event.type[:100] if event is not None else "",
    }


def _after_begin(session: Session, transaction: Any, connection: Connection) -> None:
    if connection.engine not in _ENGINES:
        return
    connection.execute(_STAMP, _params())


event.listen(Session, "after_begin", _after_begin)


def install(engine: AsyncEngine) -> None:
    """Stamp every transaction begun on ``engine`` (the API's write engine) with the caller."""
    _ENGINES.add(engine.sync_engine)


async def stamp_event(session: AsyncSession, cloud_event: CloudEvent) -> None:
    """Record, for the changes the rest of this transaction makes, that ``cloud_event`` caused them."""
    await session.execute(_STAMP, _params(event=cloud_event))
