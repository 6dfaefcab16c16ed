"""Request and response bodies of the sign-in endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from authenticator.core.schemas import RequestModel
from authenticator.users.schemas import UserOut


class LoginRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"email": "agent1@aintech.com", "password": "Aintech-Demo-2026!"}]}
    )

    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class TwoFactorLoginRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"challenge_token": "q1kWm…", "code": "492039"},
                {"challenge_token": "q1kWm…", "code": "7hq2c-mxk4p"},
            ]
        }
    )

    challenge_token: str = Field(min_length=16, max_length=200)
    code: str = Field(min_length=6, max_length=20, description="A 6-digit TOTP code or a recovery code.")


class RefreshRequest(RequestModel):
    refresh_token: str = Field(min_length=16, max_length=200)


class TokenResponse(BaseModel):
    """A signed-in session: a 15-minute access token and a rotating refresh token."""

    status: Literal["authenticated"] = "authenticated"
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    access_token: str
    expires_in: int = Field(description="Access-token lifetime in seconds.")
    refresh_token: str
    refresh_expires_in: int = Field(description="Refresh-token lifetime in seconds (each use rotates it).")
    session_id: uuid.UUID
    user: UserOut


class TwoFactorRequired(BaseModel):
    """The password was right; exchange this challenge and a second factor at /login/2fa."""

    status: Literal["two_factor_required"] = "two_factor_required"
    challenge_token: str
    expires_in: int
    expires_at: datetime
    methods: list[str] = ["totp", "recovery_code"]


LoginResponse = Annotated[TokenResponse | TwoFactorRequired, Field(discriminator="status")]
