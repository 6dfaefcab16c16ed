"""WhatsApp and SMS through the official Twilio SDK (async client)."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from twilio.base import values
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from aintech_shared.metrics import observe_provider
from omnichannel.providers.base import Accepted, OutgoingText, ProviderError

TWILIO_API = "https://api.twilio.com"
# The SDK logs every request and response header at INFO; ours logs outcomes instead.
_QUIET = logging.getLogger("omnichannel.twilio_http")
_QUIET.setLevel(logging.WARNING)


class RoutedHttpClient(AsyncTwilioHttpClient):
    """The SDK's async HTTP client, sending ``https://api.twilio.com`` calls to ``base_url``.

    In production ``base_url`` is Twilio itself; tests point it at a fake server on loopback.
    """

    def __init__(self, base_url: str, *, timeout: float) -> None:
        super().__init__(pool_connections=False, logger=_QUIET)
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's signature
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        if auth is not None:  # as a header: aiohttp deprecates its auth= parameter
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {token}"}
        return await super().request(method, url, params, data, headers, None, None, allow_redirects)


class TwilioMessaging:
    """The real adapter: ``client.messages.create_async`` with the account's credentials."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        base_url: str,
        sms_from: str,
        whatsapp_from: str,
        messaging_service_sid: str = "",
        timeout: float = 10.0,
    ) -> None:
        self.http = RoutedHttpClient(base_url, timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=self.http)
        self.sms_from = sms_from
        self.whatsapp_from = whatsapp_from
        self.messaging_service_sid = messaging_service_sid

    async def send_text(self, message: OutgoingText) -> Accepted:
        whatsapp = message.channel == "whatsapp"
        to = f"whatsapp:{message.to}" if whatsapp else message.to
        kwargs: dict[str, Any] = {
            "to": to,
            "body": message.body if message.content_sid is None else values.unset,
            "media_url": list(message.media_urls) if message.media_urls else values.unset,
            "status_callback": message.status_callback or values.unset,
        }
        if message.content_sid is not None:  # an approved WhatsApp template: SID + numbered variables
            kwargs["content_sid"] = message.content_sid
            kwargs["content_variables"] = json.dumps(message.content_variables or {}, ensure_ascii=False)
        if self.messaging_service_sid and not whatsapp:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = f"whatsapp:{self.whatsapp_from}" if whatsapp else self.sms_from
        async with observe_provider("twilio", f"send_{message.channel}") as call:
            try:
                created = await self.client.messages.create_async(**kwargs)
            except TwilioRestException as exc:
                call.from_status(exc.status)
                transient = exc.status == 429 or exc.status >= 500
                raise ProviderError(
                    f"Twilio refused the message: {exc.msg}",
                    code=str(exc.code or exc.status),
                    transient=transient,
                ) from exc
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                call.outcome = "unreachable"
                raise ProviderError(f"Twilio unreachable: {exc!r}", transient=True) from exc
        return Accepted(provider=self.name, provider_message_id=str(created.sid), status="sent")

    async def close(self) -> None:
        await self.http.close()
