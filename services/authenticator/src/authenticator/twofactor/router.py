"""TOTP two-factor enrolment, confirmation, disabling and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters
from authenticator.sessions.caller import CurrentCaller
from authenticator.twofactor import service
from authenticator.twofactor.schemas import (
    CodeRequest,
    EnrollmentOut,
    RecoveryCodesOut,
    RecoveryCodesRequest,
    StepUpRequest,
)

router = APIRouter(prefix="/2fa", tags=["two-factor"], dependencies=[Depends(no_nul_characters)])

NO_STORE = {"Cache-Control": "no-store"}
AUTH = (401, "Missing or invalid access token")
STEP_UP = (
    403,
    "Confirm your password (step-up required)",
    "Confirm your current password to make this change.",
)


@router.post(
    "/enable",
    response_model=EnrollmentOut,
    summary="Start TOTP enrolment",
    description="Returns a new secret, its otpauth URI and a QR code. 2FA is not on until /2fa/verify "
    "confirms a code from the authenticator app. Needs `current_password` unless this session signed "
    "in (or confirmed the password) within the last few minutes; wrong passwords are counted like "
    "failed sign-ins.",
    responses=responses(
        AUTH,
        STEP_UP,
        (409, "2FA already enabled"),
        (422, "Wrong current password"),
        (429, "Too many wrong passwords or codes"),
    ),
)
async def enable(
    caller: CurrentCaller,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    response: Response,
    body: StepUpRequest | None = None,
) -> EnrollmentOut:
    enrollment = await service.start_enrollment(
        db,
        rt=rt,
        user=caller.user,
        current=caller.session,
        current_password=body.current_password if body else None,
        client=client,
    )
    response.headers.update(NO_STORE)
    return EnrollmentOut(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_code=enrollment.qr_code
    )


@router.post(
    "/verify",
    response_model=RecoveryCodesOut,
    summary="Confirm enrolment and turn 2FA on",
    description="Needs a current code from the app. Returns ten single-use recovery codes, shown once. "
    "Wrong codes are counted like failed sign-ins.",
    responses=responses(
        AUTH,
        (409, "No enrolment in progress, or already enabled"),
        (422, "Invalid code"),
        (429, "Too many wrong passwords or codes"),
    ),
)
async def verify(
    body: CodeRequest,
    caller: CurrentCaller,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    response: Response,
) -> RecoveryCodesOut:
    codes = await service.confirm_enrollment(db, rt=rt, user=caller.user, code=body.code, client=client)
    response.headers.update(NO_STORE)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn 2FA off",
    description="Needs a current TOTP code or an unused recovery code (wrong ones are counted like "
    "failed sign-ins). Recovery codes are deleted.",
    responses=responses(
        AUTH, (409, "2FA not enabled"), (422, "Invalid code"), (429, "Too many wrong passwords or codes")
    ),
)
async def disable(
    body: CodeRequest, caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client
) -> None:
    await service.disable(db, rt=rt, user=caller.user, code=body.code, client=client)


@router.post(
    "/recovery-codes",
    response_model=RecoveryCodesOut,
    summary="Replace my recovery codes",
    description="Needs a current TOTP code, and `current_password` unless this session signed in (or "
    "confirmed the password) within the last few minutes; earlier recovery codes stop working.",
    responses=responses(
        AUTH,
        STEP_UP,
        (409, "2FA not enabled"),
        (422, "Invalid code or wrong current password"),
        (429, "Too many wrong passwords or codes"),
    ),
)
async def regenerate(
    body: RecoveryCodesRequest,
    caller: CurrentCaller,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    response: Response,
) -> RecoveryCodesOut:
    codes = await service.regenerate_recovery_codes(
        db,
        rt=rt,
        user=caller.user,
        current=caller.session,
        code=body.code,
        current_password=body.current_password,
        client=client,
    )
    response.headers.update(NO_STORE)
    return RecoveryCodesOut(recovery_codes=codes)
