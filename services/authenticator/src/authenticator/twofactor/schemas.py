"""Request and response bodies of the 2FA endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CodeRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "492039"}]})

    code: str = Field(
        min_length=6, max_length=20, description="A 6-digit TOTP code (or, where allowed, a recovery code)."
    )


class EnrollmentOut(BaseModel):
    secret: str = Field(description="Base32 secret, for apps that cannot scan the QR code.")
    otpauth_uri: str
    qr_code: str = Field(description="PNG QR code of `otpauth_uri` as a data URI.")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(
        description="Shown once. Each code signs in once instead of a TOTP code."
    )
