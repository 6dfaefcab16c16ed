"""How an account is shown to its owner and to administrators."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: EmailStr
    first_name: str
    last_name: str
    phone: str | None
    role: str
    status: str
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime
    last_login_at: datetime | None
