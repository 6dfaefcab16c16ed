"""Sign-out and the caller's list of signed-in devices."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, status

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters
from authenticator.sessions import service
from authenticator.sessions.caller import CurrentCaller
from authenticator.sessions.schemas import LogoutRequest, SessionOut

router = APIRouter(tags=["sessions"], dependencies=[Depends(no_nul_characters)])


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Ends the current session (its refresh tokens stop working at once), or every session "
    "of the user with `all_sessions: true`. `session.revoked` is published so the gateway refuses "
    "the access tokens already issued in them; other services accept them until they expire "
    "(15 minutes at most).",
    responses=responses((401, "Missing or invalid access token")),
)
async def logout(
    caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client, body: LogoutRequest | None = None
) -> None:
    await service.logout(
        db,
        rt=rt,
        user_id=caller.user_id,
        session_id=caller.session.id,
        everywhere=bool(body and body.all_sessions),
        client=client,
    )


@router.get(
    "/me/sessions",
    response_model=list[SessionOut],
    summary="List my active sessions",
    description="Devices currently signed in, most recently active first; `current` marks this one.",
    responses=responses((401, "Missing or invalid access token")),
)
async def my_sessions(caller: CurrentCaller, db: DbSession) -> list[SessionOut]:
    rows = await service.list_sessions(db, user_id=caller.user_id)
    out = [SessionOut.model_validate(r) for r in rows]
    for item in out:
        item.current = item.id == caller.session.id
    return out


@router.delete(
    "/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke one of my sessions",
    responses=responses((401, "Missing or invalid access token"), (404, "No such session of yours")),
)
async def revoke_my_session(
    session_id: uuid.UUID, caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client
) -> None:
    await service.revoke_one(
        db, rt=rt, session_id=session_id, owner_id=caller.user_id, actor_id=caller.user_id, client=client
    )
