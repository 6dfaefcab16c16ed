"""Errors of omnichannel beyond the shared ones."""

from __future__ import annotations

from aintech_shared.errors import AppError


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"
