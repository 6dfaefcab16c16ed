"""Request and response bodies of the OAuth endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class ProvidersOut(BaseModel):
    providers: list[str]


class AuthorizationOut(BaseModel):
    authorization_url: str
    expires_at: datetime
