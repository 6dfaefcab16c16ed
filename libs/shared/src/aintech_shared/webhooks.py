"""Provider webhook intake, one way for every service: bounded body, signatures, the public URL.

- :func:`read_body` reads a request body up to a limit (413 :class:`PayloadTooLarge` past it,
  whatever Content-Length claims) and keeps it for later form parsing.
- :func:`public_url` is the URL as the caller saw it behind the trusted proxies
  (``aintech_shared.proxies``), or under a configured public base URL.
- :func:`twilio_form` builds the FastAPI dependency of a Twilio webhook: the bounded form, once
  ``X-Twilio-Signature`` is shown valid for that URL with the official ``RequestValidator``.
- :func:`check_sendgrid_events` / :func:`check_sendgrid_raw`: SendGrid's ECDSA P-256 signature over
  timestamp + body, with a freshness window.

Every refusal is 403 problem+json and nothing is stored; console (no credentials) mode included.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, cast
from urllib.parse import parse_qsl

import structlog
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import SecretStr
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from starlette.requests import Request
from twilio.request_validator import RequestValidator

from aintech_shared.errors import AppError, BadRequest, Forbidden
from aintech_shared.proxies import trusted_proxies

log = structlog.get_logger("aintech.webhooks")

TWILIO_SIGNATURE = "X-Twilio-Signature"
SENDGRID_SIGNATURE = EventWebhookHeader.SIGNATURE
SENDGRID_TIMESTAMP = EventWebhookHeader.TIMESTAMP
DEFAULT_MAX_BYTES = 64 * 1024
_MAX_SIGNATURE = 200


class PayloadTooLarge(AppError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class WebhookSettings(Protocol):
    """What the intake reads from a service's settings (``request.app.state.settings``)."""

    trusted_proxies: list[str]


class TwilioSettings(WebhookSettings, Protocol):
    twilio_auth_token: SecretStr
    twilio_account_sid: str


def settings_of(request: Request) -> WebhookSettings:
    return cast(WebhookSettings, request.app.state.settings)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes.

    The bytes are kept on the request, so a later ``await request.form()`` parses exactly what was
    read (and verified).
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The webhook body exceeds {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The webhook body exceeds {limit} bytes.")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body
    return body


def public_url(request: Request, settings: WebhookSettings) -> str:
    """The URL the caller (a provider) used, as it saw it: what its signature covers.

    A configured ``public_base_url`` (when the service has one) wins; otherwise scheme, host and
    prefix come from the X-Forwarded-* headers of a trusted proxy, else from the request.
    """
    base = getattr(settings, "public_base_url", None)
    return trusted_proxies(settings.trusted_proxies).public_url(request, base=base or None)


# --- Twilio ----------------------------------------------------------------------------------


class FormParams(dict[str, str]):
    """A webhook's form fields: the last value per name, with every value kept (``getlist``)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._all: dict[str, list[str]] = {}
        for name, value in pairs:
            self._all.setdefault(name, []).append(value)

    def getlist(self, name: str) -> list[str]:
        return self._all.get(name, [])

    def multi_items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, vs in self._all.items() for v in vs]

    def without_nul(self) -> FormParams:
        """The same fields with NUL characters removed (Postgres text cannot hold them)."""
        return FormParams([(k.replace("\x00", ""), v.replace("\x00", "")) for k, v in self.multi_items()])


def parse_form(body: bytes) -> FormParams:
    """Parse an application/x-www-form-urlencoded body (what Twilio posts)."""
    return FormParams(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def twilio_signature(token: str, url: str, params: Mapping[str, str]) -> str:
    """The signature Twilio puts on a request to ``url`` with these form fields."""
    return str(RequestValidator(token).compute_signature(url, dict(params)))


def twilio_valid(token: str, url: str, params: Mapping[str, Any], signature: str | None) -> bool:
    """Whether ``signature`` is Twilio's HMAC of ``url`` and ``params`` under ``token``."""
    if not signature or len(signature) > _MAX_SIGNATURE:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def twilio_form(
    *, max_bytes: int | None = None, check_account: bool = False
) -> Callable[[Request], Awaitable[FormParams]]:
    """A FastAPI dependency: the webhook's form fields once Twilio's signature is shown valid.

    The body is read up to ``max_bytes`` (default: the settings' ``max_webhook_bytes``, else 64
    KiB); the signature is checked over :func:`public_url` and the POSTed fields; with
    ``check_account`` a callback for another Twilio account (``AccountSid``) is refused. The fields
    come back without NUL characters.
    """

    async def verified(request: Request) -> FormParams:
        settings = cast(TwilioSettings, settings_of(request))
        limit = max_bytes or int(getattr(settings, "max_webhook_bytes", DEFAULT_MAX_BYTES))
        params = parse_form(await read_body(request, limit))
        url = public_url(request, settings)
        token = settings.twilio_auth_token.get_secret_value()
        if not twilio_valid(token, url, params, request.headers.get(TWILIO_SIGNATURE)):
            log.warning("twilio_signature_invalid", path=request.url.path, url=url)
            raise Forbidden("Invalid Twilio signature.")
        account = settings.twilio_account_sid
        if check_account and account and params.get("AccountSid") != account:
            raise BadRequest("The callback is for another Twilio account.")
        return params.without_nul()

    return verified


# --- SendGrid --------------------------------------------------------------------------------


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


def _sendgrid_parts(
    public_key: str, signature: str | None, timestamp: str | None, max_age: int
) -> tuple[ec.EllipticCurvePublicKey, str, str]:
    """The verification key, a fresh timestamp and the signature, or 403."""
    key = _sendgrid_key(public_key)
    ts = _fresh(timestamp, max_age)
    if not signature:
        raise Forbidden("Missing SendGrid signature.")
    return key, ts, signature


def check_sendgrid_events(
    *, public_key: str, payload: bytes, signature: str | None, timestamp: str | None, max_age: int
) -> None:
    """403 unless the body carries SendGrid's ECDSA signature over timestamp + payload (SDK check)."""
    key, ts, signed = _sendgrid_parts(public_key, signature, timestamp, max_age)
    try:
        valid = EventWebhook().verify_signature(payload.decode("utf-8"), signed, ts, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    if not valid:
        raise Forbidden("Invalid SendGrid signature.")


def check_sendgrid_raw(
    *, public_key: str, payload: bytes, signature: str | None, timestamp: str | None, max_age: int
) -> None:
    """The same ECDSA check over raw bytes (inbound parse bodies carry binary attachments)."""
    key, ts, signed = _sendgrid_parts(public_key, signature, timestamp, max_age)
    try:
        key.verify(base64.b64decode(signed), ts.encode() + payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise Forbidden("Invalid SendGrid signature.") from exc
