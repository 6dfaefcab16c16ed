"""Console mode: what would have been sent to Twilio, newest last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from telephony.core.deps import Supervisor
from telephony.core.runtime import RuntimeDep
from telephony.providers.console import ConsoleTwilio

router = APIRouter(prefix="/console", tags=["console"])


class ConsoleRequestOut(BaseModel):
    operation: str
    call_sid: str | None
    params: dict[str, object]


class ConsoleLog(BaseModel):
    console: bool
    items: list[ConsoleRequestOut]


@router.get(
    "/requests",
    response_model=ConsoleLog,
    summary="Twilio REST requests recorded by the console adapter (no Twilio account configured)",
    description="The last requests of this replica, oldest first; `console: false` and no items when a "
    "real Twilio account is configured.",
)
async def requests(
    rt: RuntimeDep, principal: Supervisor, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> ConsoleLog:
    if not isinstance(rt.twilio, ConsoleTwilio):
        return ConsoleLog(console=False, items=[])
    recent = list(rt.twilio.requests)[-limit:]
    return ConsoleLog(
        console=True,
        items=[
            ConsoleRequestOut(operation=r.operation, call_sid=r.call_sid, params=r.params) for r in recent
        ],
    )
