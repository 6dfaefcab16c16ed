"""TOTP two-factor enrolment, confirmation, disabling and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.sessions.caller import CurrentCaller
from authenticator.twofactor import service
from authenticator.twofactor.schemas import CodeRequest, EnrollmentOut, RecoveryCodesOut

router = APIRouter(prefix="/2fa", tags=["two-factor"])

NO_STORE = {"Cache-Control": "no-store"}
AUTH = (401, "Missing or invalid access token")


@router.post(
    "/enable",
    response_model=EnrollmentOut,
    summary="Start TOTP enrolment",
    description="Returns a new secret, its otpauth URI and a QR code. 2FA is not on until /2fa/verify "
    "confirms a code from the authenticator app.",
    responses=responses(AUTH, (409, "2FA already enabled")),
)
async def enable(
    caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client, response: Response
) -> EnrollmentOut:
    enrollment = await service.start_enrollment(
        db, sealer=rt.sealer, issuer=rt.settings.totp_issuer, user=caller.user, client=client
    )
    response.headers.update(NO_STORE)
    return EnrollmentOut(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_code=enrollment.qr_code
    )


@router.post(
    "/verify",
    response_model=RecoveryCodesOut,
    summary="Confirm enrolment and turn 2FA on",
    description="Needs a current code from the app. Returns ten single-use recovery codes, shown once.",
    responses=responses(AUTH, (409, "No enrolment in progress, or already enabled"), (422, "Invalid code")),
)
async def verify(
    body: CodeRequest,
    caller: CurrentCaller,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    response: Response,
) -> RecoveryCodesOut:
    codes = await service.confirm_enrollment(
        db, sealer=rt.sealer, user=caller.user, code=body.code, client=client
    )
    response.headers.update(NO_STORE)
    return RecoveryCodesOut(recovery_codes=codes)


@router.post(
    "/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Turn 2FA off",
    description="Needs a current TOTP code or an unused recovery code. Recovery codes are deleted.",
    responses=responses(AUTH, (409, "2FA not enabled"), (422, "Invalid code")),
)
async def disable(
    body: CodeRequest, caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client
) -> None:
    await service.disable(db, sealer=rt.sealer, user=caller.user, code=body.code, client=client)


@router.post(
    "/recovery-codes",
    response_model=RecoveryCodesOut,
    summary="Replace my recovery codes",
    description="Needs a current TOTP code; earlier recovery codes stop working.",
    responses=responses(AUTH, (409, "2FA not enabled"), (422, "Invalid code")),
)
async def regenerate(
    body: CodeRequest,
    caller: CurrentCaller,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    response: Response,
) -> RecoveryCodesOut:
    codes = await service.regenerate_recovery_codes(
        db, sealer=rt.sealer, user=caller.user, code=body.code, client=client
    )
    response.headers.update(NO_STORE)
    return RecoveryCodesOut(recovery_codes=codes)
