"""OAuth / OpenID Connect sign-in, linking and unlinking."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from aintech_contracts.rbac import Role
from aintech_shared.auth import Principal
from aintech_shared.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized, UnprocessableEntity
from authenticator.audit.service import AuditAction, record
from authenticator.core.base import utcnow
from authenticator.core.crypto import hash_token, new_token
from authenticator.core.request import ClientInfo
from authenticator.core.runtime import Runtime
from authenticator.oauth import repository
from authenticator.oauth.models import OAuthIdentity, OAuthState
from authenticator.oauth.providers import ProviderRegistry, email_is_verified
from authenticator.sessions.caller import ensure_live, subject_ids
from authenticator.signin.service import ChallengeIssued, SignedIn, sign_in
from authenticator.users import repository as users
from authenticator.users.models import User, UserStatus
from authenticator.users.service import create_user

PROFILE_CLAIMS = ("name", "given_name", "family_name", "picture", "locale", "tid", "preferred_username")


async def start(
    session: AsyncSession,
    *,
    rt: Runtime,
    providers: ProviderRegistry,
    provider_name: str,
    redirect_uri: str,
    client: ClientInfo,
    link_user_id: uuid.UUID | None = None,
) -> tuple[str, OAuthState]:
    """Record state, nonce and PKCE verifier server-side and build the provider's authorization URL."""
    provider = providers.get(provider_name)
    state, nonce, verifier = new_token(32), new_token(24), generate_token(64)
    now = utcnow()
    row = OAuthState(
        state_hash=hash_token(state),
        provider=provider.name,
        intent="link" if link_user_id else "login",
        user_id=link_user_id,
        code_verifier=verifier,
        nonce=nonce,
        redirect_uri=redirect_uri,
        created_at=now,
        expires_at=now + timedelta(seconds=rt.settings.oauth_state_ttl_seconds),
        ip=client.ip,
        user_agent=client.user_agent,
    )
    await repository.add_state(session, row)
    url = await provider.authorization_url(
        redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier
    )
    return url, row


async def _consume_state(session: AsyncSession, *, provider_name: str, state: str) -> OAuthState:
    row = await repository.state_by_hash(session, hash_token(state))
    if row is None or row.used_at is not None or row.provider != provider_name or row.expires_at <= utcnow():
        raise BadRequest("This sign-in link has expired or was already used; start again.")
    row.used_at = utcnow()
    await session.flush()
    return row


def _text(value: Any, limit: int) -> str | None:
    """Provider-supplied text as we store it: no NUL characters, at most ``limit`` characters."""
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text[:limit] or None


def _usable(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims we keep, cut to what the columns hold; a subject or e-mail that does not fit is
    refused rather than cut (it identifies the person)."""
    subject, email = claims.get("sub"), claims.get("email")
    if not isinstance(subject, str) or not subject or len(subject) > 255 or "\x00" in subject:
        raise Unauthorized("The identity provider returned an unusable subject; start again.")
    if email is not None and (not isinstance(email, str) or len(email) > 320 or "\x00" in email):
        email = None
    kept = {k: _text(claims[k], 2048) for k in PROFILE_CLAIMS if k in claims and _text(claims[k], 2048)}
    for flag in ("email_verified", "xms_edov"):
        if flag in claims:
            kept[flag] = claims[flag]
    return {**kept, "sub": subject, "email": email}


def _profile(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: claims[k] for k in PROFILE_CLAIMS if k in claims}


def _names(claims: dict[str, Any], email: str) -> tuple[str, str]:
    first = str(claims.get("given_name") or "").strip()
    last = str(claims.get("family_name") or "").strip()
    if not first and claims.get("name"):
        parts = str(claims["name"]).strip().split(" ", 1)
        first, last = parts[0], parts[1] if len(parts) > 1 else last
    return (first or email.split("@", 1)[0])[:100], (last or "-")[:100]


async def _link(
    session: AsyncSession, *, provider: str, claims: dict[str, Any], user: User, client: ClientInfo
) -> OAuthIdentity:
    email = claims.get("email")
    row = OAuthIdentity(
        user_id=user.id,
        provider=provider,
        subject=str(claims["sub"]),
        email=str(email).lower() if email else None,
        email_verified=email_is_verified(provider, claims),
        profile=_profile(claims),
        created_at=utcnow(),
    )
    await repository.add_identity(session, row)
    await record(
        session,
        action=AuditAction.oauth_linked,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        resource_type="oauth_identity",
        resource_id=provider,
        after={"provider": provider, "email": row.email},
    )
    return row


async def callback(
    session: AsyncSession,
    *,
    rt: Runtime,
    providers: ProviderRegistry,
    provider_name: str,
    code: str | None,
    state: str | None,
    error: str | None,
    client: ClientInfo,
) -> SignedIn | ChallengeIssued | OAuthIdentity:
    """Finish an authorization: sign in (or create the account), or link to the requesting user."""
    provider = providers.get(provider_name)
    if not state:
        raise BadRequest("The provider's response has no state; start again.")
    pending = await _consume_state(session, provider_name=provider.name, state=state)
    if error:
        raise BadRequest(f"{provider.name.title()} sign-in was cancelled or refused ({error[:80]}).")
    if not code:
        raise BadRequest("The provider's response has no authorization code.")
    claims = _usable(
        await provider.verified_claims(
            code=code,
            redirect_uri=pending.redirect_uri,
            code_verifier=pending.code_verifier,
            nonce=pending.nonce,
        )
    )
    subject = str(claims["sub"])
    existing = await repository.identity(session, provider=provider.name, subject=subject)

    if pending.intent == "link":
        assert pending.user_id is not None
        user = await users.get(session, pending.user_id, for_update=True)
        if user is None or not user.is_active:
            raise Forbidden("This account is no longer active.")
        if existing is not None:
            if existing.user_id != user.id:
                raise Conflict(f"This {provider.name.title()} account is already linked to another user.")
            return existing
        if any(i.provider == provider.name for i in await repository.identities_of(session, user.id)):
            raise Conflict(f"Another {provider.name.title()} account is already linked; unlink it first.")
        return await _link(session, provider=provider.name, claims=claims, user=user, client=client)

    if existing is not None:
        user_or_none = await users.get(session, existing.user_id, for_update=True)
        if user_or_none is None:
            raise NotFound("The linked account no longer exists.")
        user = user_or_none
        existing.last_login_at = utcnow()
        existing.profile = _profile(claims)
    else:
        email = str(claims.get("email") or "").strip().lower()
        if not email:
            raise UnprocessableEntity(f"{provider.name.title()} did not share an e-mail address.")
        if not email_is_verified(provider.name, claims):
            raise Forbidden(f"Your {provider.name.title()} e-mail address is not verified.")
        found = await users.by_email(session, email, for_update=True)
        if found is not None and not found.email_verified:
            raise Conflict(
                "An account with this e-mail exists but its address is not verified. Sign in with your "
                f"password and link {provider.name.title()} from your profile."
            )
        if found is None:
            first, last = _names(claims, email)
            found = await create_user(
                session,
                rt=rt,
                email=email,
                first_name=first,
                last_name=last,
                phone=None,
                password_hash=None,
                role=Role.customer,
                verified=True,
                client=client,
            )
        user = found
        linked = await _link(session, provider=provider.name, claims=claims, user=user, client=client)
        linked.last_login_at = utcnow()
    if not user.is_active:
        raise Forbidden("This account is disabled. Contact your administrator.")
    await record(
        session,
        action=AuditAction.oauth_login,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        details={"provider": provider.name},
    )
    return await sign_in(session, rt=rt, user=user, client=client, method=f"oauth:{provider.name}")


async def account_view(db: AsyncConnection | Any, *, principal: Principal) -> Any:
    """The caller's account with its linked identities, read in one query (a record read by column
    name); 401 unless the session is live."""
    user_id, session_id = subject_ids(principal)
    view = await repository.account_view(db, user_id=user_id, session_id=session_id)
    if view is None:
        raise Unauthorized("This session has ended; sign in again.")
    ensure_live(
        active=view["status"] == UserStatus.active,
        revoked_at=view["session_revoked_at"],
        expires_at=view["session_expires_at"],
    )
    return view


async def identities(session: AsyncSession, *, user_id: uuid.UUID) -> Sequence[OAuthIdentity]:
    """The external identities linked to the user."""
    return await repository.identities_of(session, user_id)


async def unlink(session: AsyncSession, *, user: User, provider: str, client: ClientInfo) -> None:
    """Remove a linked identity, unless it is the account's last way to sign in."""
    linked = await repository.identities_of(session, user.id)
    target = next((i for i in linked if i.provider == provider), None)
    if target is None:
        raise NotFound(f"No {provider} account is linked.")
    if user.password_hash is None and len(linked) == 1:
        raise Conflict(
            "This is your only way to sign in. Set a password (forgot-password) or link another "
            "provider first."
        )
    await repository.delete_identity(session, target)
    await record(
        session,
        action=AuditAction.oauth_unlinked,
        client=client,
        actor_id=user.id,
        user_id=user.id,
        resource_type="oauth_identity",
        resource_id=provider,
        before={"provider": provider, "email": target.email},
    )
