"""Request and response bodies of the administration endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from aintech_contracts.rbac import Role
from authenticator.core.schemas import RequestModel
from authenticator.users.schemas import UserOut


class AdminUserOut(UserOut):
    disabled_at: datetime | None
    disabled_reason: str | None
    updated_at: datetime


class RoleChange(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "supervisor"}]})

    role: Role


class DisableRequest(RequestModel):
    reason: str | None = Field(default=None, max_length=500)


class SessionsRevoked(BaseModel):
    sessions_revoked: int


class KeyRotated(BaseModel):
    kid: str
    previous_kid: str | None
