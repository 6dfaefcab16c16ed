"""TOTP (RFC 6238) with replay protection, recovery codes and the enrolment QR code."""

from __future__ import annotations

import base64
import io
import re
import secrets
import time

import anyio.to_thread
import pyotp
import qrcode
from qrcode.image.pure import PyPNGImage

from authenticator.core.crypto import digests_match

STEP_SECONDS = 30
WINDOW = 1  # accept the previous and the next 30-second step (clock drift)
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_TOTP_RE = re.compile(r"^\d{6}$")


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def _qr_png(uri: str) -> bytes:
    image = qrcode.make(uri, image_factory=PyPNGImage, box_size=6, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue()


async def qr_data_uri(uri: str) -> str:
    """The otpauth URI as a PNG QR code in a ``data:`` URI (rendered off the event loop)."""
    png = await anyio.to_thread.run_sync(_qr_png, uri)
    return "data:image/png;base64," + base64.b64encode(png).decode()


def is_totp_code(code: str) -> bool:
    return bool(_TOTP_RE.match(code))


def matching_step(
    secret: str, code: str, *, last_used_step: int | None, now: float | None = None
) -> int | None:
    """The time step ``code`` belongs to (within ±1 step), if it is valid and newer than the last one used."""
    if not is_totp_code(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int((now if now is not None else time.time()) // STEP_SECONDS)
    found: int | None = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        if digests_match(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_used_step is not None and found <= last_used_step):
        return None
    return found


def new_recovery_codes() -> list[str]:
    def one() -> str:
        chars = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        return f"{chars[:5]}-{chars[5:]}"

    return [one() for _ in range(RECOVERY_CODE_COUNT)]


def normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()
