"""Request and response bodies of the account endpoints."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from aintech_shared.phones import optional_e164
from authenticator.core.passwords import MAX_LENGTH, password_problems
from authenticator.core.schemas import RequestModel
from authenticator.oauth.schemas import IdentityOut
from authenticator.users.schemas import UserOut

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH * 2)]


def check_password(password: str, email: str | None = None) -> str:
    problems = password_problems(password, email=email)
    if problems:
        raise ValueError("Password " + "; ".join(problems) + ".")
    return password


class RegisterRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "email": "lucia.martin@example.com",
                    "password": "Tejado-Azul-42!",
                    "first_name": "Lucía",
                    "last_name": "Martín",
                    "phone": "+34 612 345 678",
                }
            ]
        }
    )

    email: EmailStr
    password: Password
    first_name: Name
    last_name: Name
    phone: str | None = Field(default=None, description="International (E.164) or Spanish national number.")

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return optional_e164(value)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str, info: ValidationInfo) -> str:
        return check_password(value, info.data.get("email"))


class MeOut(UserOut):
    permissions: list[str]
    has_password: bool
    identities: list[IdentityOut]
    session_id: uuid.UUID


class ProfileUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"first_name": "Lucía", "phone": "612345678"}]}
    )

    # A name can be changed, not removed: leave it out to keep it (null is not offered, and refused).
    first_name: Name | SkipJsonSchema[None] = None
    last_name: Name | SkipJsonSchema[None] = None
    phone: str | None = Field(default=None, description="Send null or an empty string to remove it.")

    @field_validator("first_name", "last_name", mode="before")
    @classmethod
    def _names_stay(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be empty; leave it out to keep it")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return optional_e164(value)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ChangePasswordRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"current_password": "Tejado-Azul-42!", "new_password": "Velero-Rojo-77?"}]
        }
    )

    current_password: Password
    new_password: Password

    @field_validator("new_password")
    @classmethod
    def _policy(cls, value: str) -> str:
        return check_password(value)


class VerifyEmailRequest(RequestModel):
    token: str = Field(min_length=16, max_length=200, description="The token from the e-mailed link.")


class ForgotPasswordRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "lucia.martin@example.com"}]})

    email: EmailStr


class ResetPasswordRequest(RequestModel):
    token: str = Field(min_length=16, max_length=200, description="The token from the e-mailed link.")
    new_password: Password

    @field_validator("new_password")
    @classmethod
    def _policy(cls, value: str) -> str:
        return check_password(value)


class EmailChangeRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"new_email": "lucia.martin@trabajo.example", "current_password": "Tejado-Azul-42!"}]
        }
    )

    new_email: EmailStr
    current_password: Password | None = Field(
        default=None, description="Needed unless this session signed in (or confirmed it) a few minutes ago."
    )


class Accepted(BaseModel):
    detail: str


class EmailVerified(BaseModel):
    email: EmailStr
    email_verified: bool = True
