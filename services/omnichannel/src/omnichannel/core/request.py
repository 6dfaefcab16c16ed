"""The service's settings as a request dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from omnichannel.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]
