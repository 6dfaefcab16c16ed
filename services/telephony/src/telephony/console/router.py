"""Console mode: what would have been sent to Twilio, newest last."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, ConfigDict, Field

from aintech_shared.errors import Conflict, NotFound, responses
from telephony.core.deps import Supervisor
from telephony.core.runtime import Runtime, RuntimeDep
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


class SimulatedInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")

    caller: str = Field(default="+34612345678", pattern=r"^\+[1-9][0-9]{6,14}$", description="E.164")
    digits: str = Field(default="1", pattern=r"^[0-9*#]{1,4}$", description="Keys pressed at the menu.")


class SimulatedCall(BaseModel):
    call_sid: str
    voice_url_status: int
    menu_choice_status: int


def _console(rt: Runtime) -> ConsoleTwilio:
    if not isinstance(rt.twilio, ConsoleTwilio):
        raise Conflict("Console mode is off: a real Twilio account is configured.")
    return rt.twilio


@router.post(
    "/inbound",
    status_code=status.HTTP_201_CREATED,
    response_model=SimulatedCall,
    summary="Simulate a customer calling (console mode)",
    description="Runs Twilio's side of an inbound call: the signed voice-URL request, then the menu "
    "choice, through the public webhook URLs. The caller then waits for (or reaches) an agent.",
    responses=responses((409, "Console mode is off")),
)
async def simulate_inbound(body: SimulatedInbound, rt: RuntimeDep, principal: Supervisor) -> SimulatedCall:
    sid, greeted, chosen = await _console(rt).simulate_inbound(caller=body.caller, digits=body.digits)
    return SimulatedCall(call_sid=sid, voice_url_status=greeted, menu_choice_status=chosen)


@router.post(
    "/calls/{call_sid}/hangup",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Simulate the customer hanging up (console mode)",
    responses=responses((404, "Not a call the console is simulating"), (409, "Console mode is off")),
)
async def simulate_hangup(call_sid: str, rt: RuntimeDep, principal: Supervisor) -> None:
    if not await _console(rt).simulate_hangup(call_sid[:64]):
        raise NotFound("No live simulated call with this CallSid.")
