"""Administration endpoints: users, roles, account status, sessions, signing keys, the audit log."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from aintech_contracts.rbac import Permission, Role
from aintech_shared.db import DbSession
from aintech_shared.errors import responses
from aintech_shared.pagination import Cursor, CursorPage, Limit, decode_cursor
from authenticator.admin import service
from authenticator.admin.schemas import AdminUserOut, DisableRequest, KeyRotated, RoleChange, SessionsRevoked
from authenticator.audit import service as audit
from authenticator.audit.schemas import AuditEntryOut
from authenticator.audit.service import AuditAction
from authenticator.core.request import Client
from authenticator.core.runtime import RuntimeDep
from authenticator.core.schemas import Instant, no_nul_characters
from authenticator.sessions import service as sessions
from authenticator.sessions.caller import Caller, authorized
from authenticator.sessions.schemas import SessionOut
from authenticator.users.models import UserStatus

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[Depends(no_nul_characters)])

Reader = Annotated[Caller, Depends(authorized(Permission.users_read))]
Manager = Annotated[Caller, Depends(authorized(Permission.users_manage))]
SessionManager = Annotated[Caller, Depends(authorized(Permission.sessions_manage))]
KeyManager = Annotated[Caller, Depends(authorized(Permission.keys_manage))]
Auditor = Annotated[Caller, Depends(authorized(Permission.audit_read))]

GUARDED = ((401, "Missing or invalid access token"), (403, "Missing permission"))


@router.get(
    "/users",
    response_model=CursorPage[AdminUserOut],
    summary="List and search users",
    description="Needs `users:read`. `q` matches e-mail or name (case-insensitive substring). "
    "Newest first; cursor pagination.",
    responses=responses(*GUARDED, (422, "Invalid filter or cursor")),
)
async def list_users(
    _: Reader,
    db: DbSession,
    q: Annotated[str | None, Query(max_length=100, description="Search e-mail or name.")] = None,
    role: Role | None = None,
    status_: Annotated[UserStatus | None, Query(alias="status")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[AdminUserOut]:
    after = decode_cursor(cursor, kinds=("datetime", "uuid"))
    rows, next_key = await service.search_users(
        db, text=q, role=role, status=status_, after=after, limit=limit
    )
    return CursorPage.build(rows, next_key, item=AdminUserOut.model_validate)


@router.get(
    "/users/{user_id}",
    response_model=AdminUserOut,
    summary="Get one user",
    responses=responses(*GUARDED, (404, "No such user")),
)
async def get_user(user_id: uuid.UUID, _: Reader, db: DbSession) -> AdminUserOut:
    return AdminUserOut.model_validate(await service.get_user(db, user_id=user_id))


@router.put(
    "/users/{user_id}/role",
    response_model=AdminUserOut,
    summary="Change a user's role",
    description="Needs `users:manage`. The user's sessions end so their next tokens carry the new "
    "permissions. Publishes `user.role_changed`. You cannot change your own role or demote the last admin.",
    responses=responses(*GUARDED, (404, "No such user"), (409, "Own role, or last administrator")),
)
async def change_role(
    user_id: uuid.UUID, body: RoleChange, caller: Manager, db: DbSession, rt: RuntimeDep, client: Client
) -> AdminUserOut:
    user = await service.change_role(
        db, rt=rt, actor_id=caller.user_id, user_id=user_id, role=body.role, client=client
    )
    return AdminUserOut.model_validate(user)


@router.post(
    "/users/{user_id}/disable",
    response_model=AdminUserOut,
    summary="Disable an account",
    description="Needs `users:manage`. Ends every session; publishes `user.disabled`.",
    responses=responses(*GUARDED, (404, "No such user"), (409, "Own account, or last administrator")),
)
async def disable_user(
    user_id: uuid.UUID,
    caller: Manager,
    db: DbSession,
    rt: RuntimeDep,
    client: Client,
    body: DisableRequest | None = None,
) -> AdminUserOut:
    user = await service.disable_user(
        db,
        rt=rt,
        actor_id=caller.user_id,
        user_id=user_id,
        reason=body.reason if body else None,
        client=client,
    )
    return AdminUserOut.model_validate(user)


@router.post(
    "/users/{user_id}/enable",
    response_model=AdminUserOut,
    summary="Re-enable an account",
    description="Needs `users:manage`. Publishes `user.enabled`.",
    responses=responses(*GUARDED, (404, "No such user")),
)
async def enable_user(
    user_id: uuid.UUID, caller: Manager, db: DbSession, rt: RuntimeDep, client: Client
) -> AdminUserOut:
    user = await service.enable_user(db, rt=rt, actor_id=caller.user_id, user_id=user_id, client=client)
    return AdminUserOut.model_validate(user)


@router.post(
    "/users/{user_id}/logout",
    response_model=SessionsRevoked,
    summary="Sign a user out everywhere",
    description="Needs `sessions:manage`. Refresh tokens stop working at once; access tokens expire "
    "within 15 minutes.",
    responses=responses(*GUARDED, (404, "No such user")),
)
async def force_logout(
    user_id: uuid.UUID, caller: SessionManager, db: DbSession, rt: RuntimeDep, client: Client
) -> SessionsRevoked:
    count = await service.force_logout(db, rt=rt, actor_id=caller.user_id, user_id=user_id, client=client)
    return SessionsRevoked(sessions_revoked=count)


@router.get(
    "/users/{user_id}/sessions",
    response_model=list[SessionOut],
    summary="List a user's active sessions",
    description="Needs `sessions:manage`.",
    responses=responses(*GUARDED, (404, "No such user")),
)
async def user_sessions(user_id: uuid.UUID, _: SessionManager, db: DbSession) -> list[SessionOut]:
    await service.get_user(db, user_id=user_id)
    return [SessionOut.model_validate(r) for r in await sessions.list_sessions(db, user_id=user_id)]


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke any session",
    description="Needs `sessions:manage`.",
    responses=responses(*GUARDED, (404, "No such session")),
)
async def revoke_session(
    session_id: uuid.UUID, caller: SessionManager, db: DbSession, rt: RuntimeDep, client: Client
) -> None:
    await sessions.revoke_one(
        db, rt=rt, session_id=session_id, owner_id=None, actor_id=caller.user_id, client=client
    )


@router.post(
    "/keys/rotate",
    response_model=KeyRotated,
    summary="Rotate the token-signing key",
    description="Needs `keys:manage`. New tokens are signed with a new key at once; the previous key "
    "stays in the JWKS until the tokens it signed have expired. The worker also rotates on a schedule.",
    responses=responses(*GUARDED),
)
async def rotate_keys(caller: KeyManager, db: DbSession, rt: RuntimeDep, client: Client) -> KeyRotated:
    kid, previous = await service.rotate_signing_key(db, rt=rt, actor_id=caller.user_id, client=client)
    return KeyRotated(kid=kid, previous_kid=previous)


@router.get(
    "/audit",
    tags=["audit"],
    response_model=CursorPage[AuditEntryOut],
    summary="Search the audit log",
    description="Needs `audit:read`. Filters combine; `since` is inclusive and `until` exclusive "
    "(ISO 8601 with time zone). Newest first; cursor pagination. Actions: "
    + ", ".join(f"`{a.value}`" for a in AuditAction)
    + ".",
    responses=responses(
        (401, "Missing or invalid access token"),
        (403, "Missing permission"),
        (422, "Invalid filter or cursor"),
    ),
)
async def search_audit(
    _: Auditor,
    db: DbSession,
    user_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: Annotated[list[AuditAction] | None, Query(description="Repeat to match several.")] = None,
    since: Annotated[
        Instant | None, Query(description="From this instant (inclusive), with a time zone.")
    ] = None,
    until: Annotated[Instant | None, Query(description="Before this instant, with a time zone.")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CursorPage[AuditEntryOut]:
    rows, next_key = await audit.search(
        db,
        user_id=user_id,
        actor_id=actor_id,
        actions=[a.value for a in action or []],
        since=since,
        until=until,
        after=decode_cursor(cursor, kinds=("datetime", "uuid")),
        limit=limit,
    )
    return CursorPage.build(rows, next_key, item=AuditEntryOut.model_validate)
