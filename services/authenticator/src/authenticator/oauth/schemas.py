"""Request and response bodies of the OAuth endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ProvidersOut(BaseModel):
    providers: list[str]


class AuthorizationOut(BaseModel):
    authorization_url: str
    expires_at: datetime


class IdentityOut(BaseModel):
    """A Google or Microsoft account linked to this one."""

    model_config = ConfigDict(from_attributes=True)

    provider: str
    email: str | None
    created_at: datetime
    last_login_at: datetime | None
