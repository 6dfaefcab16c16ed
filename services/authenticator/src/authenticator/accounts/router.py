"""Registration, e-mail verification, the caller's profile and password management."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status
from pydantic import TypeAdapter
from starlette.responses import Response

from aintech_contracts.rbac import permissions_for
from aintech_shared.auth import CurrentPrincipal
from aintech_shared.db import DbSession, ReadDriver
from aintech_shared.errors import responses
from aintech_shared.hot import hot_get
from authenticator.accounts import service
from authenticator.accounts.schemas import (
    Accepted,
    ChangePasswordRequest,
    EmailChangeRequest,
    EmailVerified,
    ForgotPasswordRequest,
    MeOut,
    ProfileUpdate,
    RegisterRequest,
    ResetPasswordRequest,
    VerifyEmailRequest,
)
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import no_nul_characters
from authenticator.oauth import service as oauth
from authenticator.oauth.schemas import IdentityOut
from authenticator.sessions.caller import Caller, CurrentCaller

router = APIRouter(tags=["accounts"], dependencies=[Depends(no_nul_characters)])
_ME = TypeAdapter(MeOut)


def _json(me: MeOut) -> Response:
    """``me`` as FastAPI answers a route returning ``MeOut`` (its fast path: the response model's
    one ``dump_json``, by alias): ``GET /me`` is a hot route (``aintech_shared.hot``), which
    returns a ``Response``."""
    return Response(_ME.dump_json(me, by_alias=True), media_type="application/json")


AUTH_ERRORS = ((401, "Missing or invalid access token"),)


async def _me(db: DbSession, caller: Caller) -> MeOut:
    """The caller's account view, built from rows already typed by the database (no re-validation)."""
    linked = await oauth.identities(db, user_id=caller.user_id)
    user = caller.user
    return MeOut.model_construct(
        id=user.id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        phone=user.phone,
        role=user.role,
        status=user.status,
        email_verified=user.email_verified,
        two_factor_enabled=user.two_factor_enabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        permissions=permissions_for(user.role),
        has_password=user.password_hash is not None,
        identities=[
            IdentityOut.model_construct(
                provider=i.provider, email=i.email, created_at=i.created_at, last_login_at=i.last_login_at
            )
            for i in linked
        ],
        session_id=caller.session.id,
    )


REGISTERED = "Check your inbox: a message is on its way to this address with the next step."


@router.post(
    "/register",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Create a customer account",
    description="Password policy: 8–128 characters with upper- and lower-case letters, a digit and a "
    "symbol; not one of the most common breached passwords; not containing the e-mail name. "
    "Phones are stored in E.164 (Spanish national numbers are accepted).\n\n"
    "The answer is the same whether or not the address already has an account, so it cannot be used "
    "to find out who is a customer. For a new address the account is created, `user.registered` is "
    "published and a verification e-mail is requested (`auth.email_verification_requested`); for a "
    "taken address nothing is created and its owner is told (`auth.account_exists_notice`). At most "
    "a few sign-ups per hour are accepted from one network (429) and the owner of an address is told "
    "at most a few times an hour.",
    responses=responses(
        (422, "Invalid field (password policy, phone, e-mail)"),
        (429, "Too many sign-ups from this network", "Too many requests from your network; try again later."),
    ),
)
async def register(body: RegisterRequest, db: DbSession, rt: RuntimeDep, client: Client) -> Accepted:
    await service.register(
        db,
        rt=rt,
        email=body.email,
        password=body.password,
        first_name=body.first_name,
        last_name=body.last_name,
        phone=body.phone,
        client=client,
    )
    return Accepted(detail=REGISTERED)


@router.post(
    "/verify-email",
    response_model=EmailVerified,
    summary="Verify an e-mail address with the e-mailed token",
    description="Tokens are single use and expire (48 hours by default).",
    responses=responses(
        (400, "Invalid, used or expired link", "This link is invalid or has already been used.")
    ),
)
async def verify_email(
    body: VerifyEmailRequest, db: DbSession, rt: RuntimeDep, client: Client
) -> EmailVerified:
    user = await service.verify_email(db, rt=rt, token=body.token, client=client)
    return EmailVerified(email=user.email)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Send the verification e-mail again",
    description="Earlier verification links stop working. One a minute at most (429 with "
    "`Retry-After` before that), and a few an hour.",
    responses=responses(*AUTH_ERRORS, (409, "Already verified"), (429, "Sent moments ago")),
)
async def resend_verification(caller: CurrentCaller, db: DbSession, rt: RuntimeDep) -> Accepted:
    await service.resend_verification(db, rt=rt, user=caller.user)
    return Accepted(detail="A new verification e-mail is on its way.")


@hot_get(
    router,
    "/me",
    response_model=MeOut,
    summary="My account",
    description="Profile, role, permissions, 2FA status, linked sign-in providers and the current "
    "session id.",
    responses=responses(*AUTH_ERRORS),
)
async def me(principal: CurrentPrincipal, db: ReadDriver) -> Response:
    view = await oauth.account_view(db, principal=principal)
    return _json(
        MeOut.model_construct(
            id=view["id"],
            email=view["email"],
            first_name=view["first_name"],
            last_name=view["last_name"],
            phone=view["phone"],
            role=view["role"],
            status=view["status"],
            email_verified=view["email_verified"],
            two_factor_enabled=view["two_factor_enabled"],
            created_at=view["created_at"],
            last_login_at=view["last_login_at"],
            permissions=permissions_for(view["role"]),
            has_password=view["has_password"],
            identities=[IdentityOut.model_validate(i) for i in view["identities"]],
            session_id=view["session_id"],
        )
    )


@router.patch(
    "/me",
    response_model=MeOut,
    summary="Update my profile",
    description="First name, last name and phone. The e-mail address and role cannot be changed here.",
    responses=responses(*AUTH_ERRORS, (422, "Invalid field")),
)
async def update_me(body: ProfileUpdate, caller: CurrentCaller, db: DbSession, client: Client) -> MeOut:
    await service.update_profile(db, user=caller.user, changes=body.changes(), client=client)
    return await _me(db, caller)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Change my password",
    description="Needs the current password; wrong ones are counted like failed sign-ins (429 with "
    "`Retry-After` once too many). Every other session is signed out (`session.revoked`); this one "
    "stays.",
    responses=responses(
        *AUTH_ERRORS,
        (422, "Wrong current password or new password breaks the policy"),
        (429, "Too many wrong passwords"),
    ),
)
async def change_password(
    body: ChangePasswordRequest, caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client
) -> None:
    await service.change_password(
        db,
        rt=rt,
        user=caller.user,
        current_session_id=caller.session.id,
        current_password=body.current_password,
        new_password=body.new_password,
        client=client,
    )


@router.post(
    "/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Change my e-mail address",
    description="Sends a link to the new address (`auth.email_change_requested`); the address changes "
    "only when it is used (`POST /verify-email-change`). Needs `current_password` unless this session "
    "signed in (or confirmed the password) within the last few minutes. When the new address belongs "
    "to another account the answer is the same and that account's owner is told instead.",
    responses=responses(
        *AUTH_ERRORS,
        (
            403,
            "Confirm your password (step-up required)",
            "Confirm your current password to make this change.",
        ),
        (422, "Wrong current password, or the same address"),
        (429, "Too many attempts"),
    ),
)
async def change_email(
    body: EmailChangeRequest, caller: CurrentCaller, db: DbSession, rt: RuntimeDep, client: Client
) -> Accepted:
    await service.request_email_change(
        db,
        rt=rt,
        user=caller.user,
        current=caller.session,
        new_email=body.new_email,
        current_password=body.current_password,
        client=client,
    )
    return Accepted(detail="A link is on its way to the new address; your address changes when it is used.")


@router.post(
    "/verify-email-change",
    response_model=EmailVerified,
    summary="Confirm a new e-mail address with the e-mailed token",
    description="The new address replaces the old one and counts as verified; links sent to the old "
    "address stop working and every session except the one that asked for the change ends "
    "(`user.email_changed`, `session.revoked`).",
    responses=responses(
        (400, "Invalid, used or expired link", "This link is invalid or has already been used."),
        (409, "The address was taken meanwhile", "An account with this e-mail address already exists."),
    ),
)
async def verify_email_change(
    body: VerifyEmailRequest, db: DbSession, rt: RuntimeDep, client: Client
) -> EmailVerified:
    user = await service.confirm_email_change(db, rt=rt, token=body.token, client=client)
    return EmailVerified(email=user.email)


@router.post(
    "/forgot-password",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    summary="Request a password-reset e-mail",
    description="Always answers the same 202, whether or not the address has an account, and takes "
    "as long. The link is single use and valid for one hour; at most a few are sent to an address "
    "per hour (beyond that nothing is sent, the answer is unchanged). Too many requests from one "
    "network get 429.",
    responses=responses(
        (429, "Too many requests from this network", "Too many requests from your network; try again later.")
    ),
)
async def forgot_password(
    body: ForgotPasswordRequest, db: DbSession, rt: RuntimeDep, client: Client
) -> Accepted:
    await service.forgot_password(db, rt=rt, email=body.email, client=client)
    return Accepted(detail="If an account exists for this address, a reset link is on its way.")


@router.post(
    "/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with the e-mailed token",
    description="Signs the account out everywhere (`session.revoked`) and lifts sign-in delays and "
    "lockouts. Two-factor authentication stays on; if it was enrolled within the last hour the owner "
    "is warned (`auth.suspicious_login`, reason `two_factor_enrolled_recently`).",
    responses=responses(
        (400, "Invalid, used or expired link", "This link has expired; request a new one."),
        (422, "New password breaks the policy"),
    ),
)
async def reset_password(body: ResetPasswordRequest, db: DbSession, rt: RuntimeDep, client: Client) -> None:
    await service.reset_password(db, rt=rt, token=body.token, new_password=body.new_password, client=client)
