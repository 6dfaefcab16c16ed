"""Sign-in with a password, the second factor, and refresh-token rotation."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters
from authenticator.signin import service
from authenticator.signin.presenter import NO_STORE, login_response, token_response
from authenticator.signin.schemas import (
    LoginRequest,
    LoginResponse,
    RefreshRequest,
    TokenResponse,
    TwoFactorLoginRequest,
    TwoFactorRequired,
)

router = APIRouter(tags=["sessions"], dependencies=[Depends(no_nul_characters)])


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
    body: LoginRequest, db: DbSession, rt: RuntimeDep, client: Client, response: Response
) -> TokenResponse | TwoFactorRequired:
    result = await service.login(db, rt=rt, email=body.email, password=body.password, client=client)
    return login_response(result, response)


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
    response: Response,
) -> TokenResponse:
    result = await service.complete_two_factor(
        db, rt=rt, challenge_token=body.challenge_token, code=body.code, client=client
    )
    response.headers.update(NO_STORE)
    return token_response(result)


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
    body: RefreshRequest, db: DbSession, rt: RuntimeDep, client: Client, response: Response
) -> TokenResponse:
    result = await service.refresh(db, rt=rt, raw_token=body.refresh_token, client=client)
    response.headers.update(NO_STORE)
    return token_response(result)
