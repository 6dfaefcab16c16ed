"""Request and response bodies of the session endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from authenticator.core.schemas import RequestModel


class LogoutRequest(RequestModel):
    all_sessions: bool = Field(default=False, description="Sign out of every device, not only this one.")


class SessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
    last_activity_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    device: str | None
    auth_method: str
    mfa: bool
    current: bool = False


class LoggedOut(BaseModel):
    sessions_revoked: int
