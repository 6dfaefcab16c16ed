"""Request and response bodies of the 2FA endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from authenticator.core.schemas import RequestModel

CURRENT_PASSWORD = Field(
    default=None,
    min_length=1,
    max_length=256,
    description="Needed unless this session signed in (or confirmed the password) a few minutes ago.",
)


class StepUpRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"current_password": "Tejado-Azul-42!"}]})

    current_password: str | None = CURRENT_PASSWORD


class CodeRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "492039"}]})

    code: str = Field(
        min_length=6, max_length=20, description="A 6-digit TOTP code (or, where allowed, a recovery code)."
    )


class RecoveryCodesRequest(CodeRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"code": "492039", "current_password": "Tejado-Azul-42!"}]}
    )

    current_password: str | None = CURRENT_PASSWORD


class EnrollmentOut(BaseModel):
    secret: str = Field(description="Base32 secret, for apps that cannot scan the QR code.")
    otpauth_uri: str
    qr_code: str = Field(description="PNG QR code of `otpauth_uri` as a data URI.")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(
        description="Shown once. Each code signs in once instead of a TOTP code."
    )
