"""Webhook signature checks exactly as the providers sign: Twilio HMAC, SendGrid ECDSA P-256."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from twilio.request_validator import RequestValidator

from aintech_shared.errors import Forbidden

SENDGRID_SIGNATURE = EventWebhookHeader.SIGNATURE
SENDGRID_TIMESTAMP = EventWebhookHeader.TIMESTAMP
TWILIO_SIGNATURE = "X-Twilio-Signature"


def check_twilio(*, auth_token: str, url: str, params: Mapping[str, Any], signature: str | None) -> None:
    """403 unless ``signature`` is Twilio's HMAC of ``url`` and the POSTed parameters."""
    if not signature or not RequestValidator(auth_token).validate(url, params, signature):
        raise Forbidden("Invalid Twilio signature.")


def _sendgrid_key(public_key: str) -> ec.EllipticCurvePublicKey:
    if not public_key:
        raise Forbidden("SendGrid webhooks are not configured (no verification key).")
    try:
        key = EventWebhook().convert_public_key_to_ecdsa(public_key)
    except (ValueError, TypeError) as exc:
        raise Forbidden("SendGrid verification key is unusable.") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Forbidden("SendGrid verification key is not an elliptic-curve key.")
    return key


def _fresh(timestamp: str | None, max_age: int) -> str:
    if not timestamp or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > max_age:
        raise Forbidden("Missing or stale SendGrid signature timestamp.")
    return timestamp


def check_sendgrid_events(
    *, public_key: str, payload: bytes, signature: str | None, timestamp: str | None, max_age: int
) -> None:
    """403 unless the body carries SendGrid's ECDSA signature over timestamp + payload (SDK check)."""
    key = _sendgrid_key(public_key)
    ts = _fresh(timestamp, max_age)
    if not signature:
        raise Forbidden("Missing SendGrid signature.")
    try:
        text = payload.decode("utf-8")
        valid = EventWebhook().verify_signature(text, signature, ts, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    if not valid:
        raise Forbidden("Invalid SendGrid signature.")


def check_sendgrid_raw(
    *, public_key: str, payload: bytes, signature: str | None, timestamp: str | None, max_age: int
) -> None:
    """The same ECDSA check over raw bytes (inbound parse bodies carry binary attachments)."""
    key = _sendgrid_key(public_key)
    ts = _fresh(timestamp, max_age)
    if not signature:
        raise Forbidden("Missing SendGrid signature.")
    try:
        key.verify(base64.b64decode(signature), ts.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise Forbidden("Invalid SendGrid signature.") from exc
