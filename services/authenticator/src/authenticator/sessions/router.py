"""Sign-in, second factor, refresh, logout and the caller's session list."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response, status

from aintech_shared.db import DbSession
from aintech_shared.errors import app_error_response, responses
from authenticator.accounts.schemas import UserOut
from authenticator.core.deps import CurrentCaller
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.sessions import service
from authenticator.sessions.schemas import (
    LoginRequest,
    LoginResponse,
    LogoutRequest,
    RefreshRequest,
    SessionOut,
    TokenResponse,
    TwoFactorLoginRequest,
    TwoFactorRequired,
)

router = APIRouter(tags=["sessions"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_response(result: service.SignedIn) -> TokenResponse:
    return TokenResponse(
        access_token=result.access_token,
        expires_in=result.expires_in,
        refresh_token=result.refresh_token,
        refresh_expires_in=result.refresh_expires_in,
        session_id=result.session.id,
        user=UserOut.model_validate(result.user),
    )


def login_response(
    result: service.SignedIn | service.ChallengeIssued | service.Refused, request: Request, response: Response
) -> Any:
    """Render a sign-in outcome; refusals are returned (not raised) so their side effects commit."""
    if isinstance(result, service.Refused):
        return app_error_response(request, result.error)
    response.headers.update(NO_STORE)
    if isinstance(result, service.ChallengeIssued):
        return TwoFactorRequired(
            challenge_token=result.challenge_token, expires_in=result.expires_in, expires_at=result.expires_at
        )
    return token_response(result)


@router.post(
    "/login",
    response_model=LoginResponse,
    summary="Sign in with e-mail and password",
    description="Returns a token pair, or a `two_factor_required` challenge when the account has 2FA on. "
    "Unknown e-mails and wrong passwords get the same 401. Repeated failures per account and per IP "
    "first add growing delays, then lock sign-in temporarily (429 with `Retry-After`).",
    responses=responses(
        (401, "Invalid email or password", "Invalid email or password."),
        (403, "Account disabled", "This account is disabled. Contact your administrator."),
        (429, "Too many failed attempts", "Too many failed sign-in attempts. Try again in 900 seconds."),
    ),
)
async def login(
    body: LoginRequest, db: DbSession, rt: RuntimeDep, client: Client, request: Request, response: Response
) -> Any:
    result = await service.login(db, rt=rt, email=body.email, password=body.password, client=client)
    return login_response(result, request, response)


@router.post(
    "/login/2fa",
    response_model=TokenResponse,
    summary="Complete sign-in with a TOTP or recovery code",
    description="Exchanges the `challenge_token` from /login (valid 5 minutes, single use) and a "
    "6-digit TOTP code (each code works once) or an unused recovery code for a token pair.",
    responses=responses(
        (401, "Invalid code, or the challenge expired", "The verification code is not valid."),
        (429, "Too many failed attempts"),
    ),
)
async def login_two_factor(
    body: TwoFactorLoginRequest,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    request: Request,
    response: Response,
) -> Any:
    result = await service.complete_two_factor(
        db, rt=rt, challenge_token=body.challenge_token, code=body.code, client=client
    )
    return login_response(result, request, response)


@router.post(
    "/refresh",
    response_model=TokenResponse,
    summary="Rotate the refresh token and get a new access token",
    description="Each refresh token works once; the response carries its replacement. Presenting a "
    "refresh token that was already used revokes the whole session (every token descended from the "
    "same sign-in), records the reuse in the audit log and alerts the user.",
    responses=responses((401, "Invalid, expired, revoked or reused refresh token")),
)
async def refresh(
    body: RefreshRequest, db: DbSession, rt: RuntimeDep, client: Client, request: Request, response: Response
) -> Any:
    result = await service.refresh(db, rt=rt, raw_token=body.refresh_token, client=client)
    return login_response(result, request, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    description="Ends the current session (its refresh tokens stop working at once), or every session "
    "of the user with `all_sessions: true`. Access tokens already issued expire within 15 minutes.",
    responses=responses((401, "Missing or invalid access token")),
)
async def logout(
    caller: CurrentCaller, db: DbSession, client: Client, body: LogoutRequest | None = None
) -> None:
    await service.logout(
        db,
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
    session_id: uuid.UUID, caller: CurrentCaller, db: DbSession, client: Client
) -> None:
    await service.revoke_one(
        db, session_id=session_id, owner_id=caller.user_id, actor_id=caller.user_id, client=client
    )
