"""The real adapter: Twilio's official SDK, asynchronous, on a pooled aiohttp session."""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from aintech_shared.metrics import observe_provider
from telephony.providers.port import (
    RECORDING_EVENTS,
    STATUS_EVENTS,
    ProviderCall,
    ProviderError,
    ProviderRecording,
)
from telephony.settings import Settings

log = structlog.get_logger("telephony.twilio")

TWILIO_API = "https://api.twilio.com"


class RoutedHttpClient(AsyncTwilioHttpClient):
    """The SDK's async HTTP client, sending to ``base_url`` instead of api.twilio.com when set."""

    def __init__(self, *, base_url: str | None, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/") if base_url else None

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self.base_url and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return await super().request(method, url, *args, **kwargs)


def _duration(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class TwilioRest:
    """TwilioPort over the official SDK (``*_async`` methods)."""

    def __init__(self, settings: Settings) -> None:
        self.http = RoutedHttpClient(
            base_url=settings.twilio_api_base_url, timeout=settings.twilio_http_timeout_seconds
        )
        if settings.twilio_api_key_sid:
            username, password = settings.twilio_api_key_sid, settings.twilio_api_key_secret
        else:
            username, password = settings.twilio_account_sid, settings.twilio_auth_token
        self.client = Client(
            username,
            password.get_secret_value(),
            account_sid=settings.twilio_account_sid,
            http_client=self.http,
        )
        self.account_sid = settings.twilio_account_sid
        self.credentials = (username, password.get_secret_value())
        self.media_timeout = max(30.0, settings.twilio_http_timeout_seconds)

    async def _call(self, operation: str, coro: Any) -> Any:
        async with observe_provider("twilio", operation.replace(" ", "_")) as call:
            try:
                return await coro
            except TwilioRestException as exc:
                call.from_status(exc.status)
                log.warning(
                    "twilio_refused", operation=operation, status=exc.status, code=exc.code, msg=exc.msg
                )
                raise ProviderError(f"Twilio refused {operation}: {exc.msg}", twilio_code=exc.code) from exc
            except (TwilioException, OSError, TimeoutError) as exc:
                call.outcome = "unreachable"
                log.warning("twilio_unreachable", operation=operation, error=repr(exc))
                raise ProviderError(f"Twilio could not be reached for {operation}.") from exc

    async def create_call(self, *, to: str, from_: str, twiml: str, status_callback: str) -> ProviderCall:
        call = await self._call(
            "create call",
            self.client.calls.create_async(
                to=to,
                from_=from_,
                twiml=twiml,
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=list(STATUS_EVENTS),
            ),
        )
        return ProviderCall(sid=call.sid, status=call.status, duration=_duration(call.duration))

    async def update_call(
        self, sid: str, *, twiml: str | None = None, status: str | None = None
    ) -> ProviderCall:
        params: dict[str, Any] = {}
        if twiml is not None:
            params["twiml"] = twiml
        if status is not None:
            params["status"] = status
        call = await self._call("update call", self.client.calls(sid).update_async(**params))
        return ProviderCall(sid=call.sid, status=call.status, duration=_duration(call.duration))

    async def download_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """The media (``.wav``) from Twilio's Recordings resource, with the account's credentials."""
        base = self.http.base_url or TWILIO_API
        url = f"{base}/2010-04-01/Accounts/{self.account_sid}/Recordings/{recording_sid}.wav"
        timeout = aiohttp.ClientTimeout(total=self.media_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as http,
                http.get(
                    url, headers={"Authorization": aiohttp.BasicAuth(*self.credentials).encode()}
                ) as response,
            ):
                if response.status != 200:
                    raise ProviderError(f"Twilio refused the recording download: HTTP {response.status}.")
                return await response.read(), response.headers.get("Content-Type", "audio/wav")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ProviderError("Twilio could not be reached for the recording download.") from exc

    async def delete_recording(self, recording_sid: str) -> None:
        await self._call("delete recording", self.client.recordings(recording_sid).delete_async())

    async def fetch_call(self, sid: str) -> ProviderCall:
        call = await self._call("fetch call", self.client.calls(sid).fetch_async())
        return ProviderCall(sid=call.sid, status=call.status, duration=_duration(call.duration))

    async def start_recording(self, call_sid: str, *, callback: str) -> ProviderRecording:
        recording = await self._call(
            "start recording",
            self.client.calls(call_sid).recordings.create_async(
                recording_status_callback=callback,
                recording_status_callback_method="POST",
                recording_status_callback_event=list(RECORDING_EVENTS),
            ),
        )
        return ProviderRecording(sid=recording.sid, status=recording.status)

    async def start_transcription(self, call_sid: str, *, name: str, callback: str, language: str) -> str:
        transcription = await self._call(
            "start transcription",
            self.client.calls(call_sid).transcriptions.create_async(
                name=name,
                track="both_tracks",
                status_callback_url=callback,
                status_callback_method="POST",
                language_code=language,
                partial_results=False,
            ),
        )
        return str(transcription.sid)

    async def stop_transcription(self, call_sid: str, transcription_sid: str) -> None:
        await self._call(
            "stop transcription",
            self.client.calls(call_sid).transcriptions(transcription_sid).update_async(status="stopped"),
        )

    async def set_recording(self, call_sid: str, recording_sid: str, *, status: str) -> ProviderRecording:
        recording = await self._call(
            f"set recording {status}",
            self.client.calls(call_sid).recordings(recording_sid).update_async(status=status),
        )
        return ProviderRecording(sid=recording.sid, status=recording.status)

    async def update_participant(
        self,
        conference_sid: str,
        call_sid: str,
        *,
        hold: bool | None = None,
        hold_url: str | None = None,
        muted: bool | None = None,
    ) -> None:
        params: dict[str, Any] = {}
        if hold is not None:
            params["hold"] = hold
        if hold_url is not None:
            params["hold_url"] = hold_url
        if muted is not None:
            params["muted"] = muted
        await self._call(
            "update participant",
            self.client.conferences(conference_sid).participants(call_sid).update_async(**params),
        )

    async def close(self) -> None:
        await self.http.close()
