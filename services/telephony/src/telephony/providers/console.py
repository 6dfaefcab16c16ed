"""The console adapter: no Twilio account, so calls are simulated and every request is recorded.

Outbound REST operations are kept in a bounded in-memory log (listed at ``GET /console/requests``);
calls progress through Twilio's statuses on a timer, and their callbacks are posted to our own
public webhook URLs, signed with the configured ``TWILIO_AUTH_TOKEN`` exactly like Twilio's.
"""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import structlog

from aintech_shared.webhooks import TWILIO_SIGNATURE, twilio_signature
from telephony.providers.port import ProviderCall, ProviderRecording, ProviderRequest
from telephony.settings import Settings

log = structlog.get_logger("telephony.console")

# Posts a form to a URL with headers; returns the HTTP status and the body.
Poster = Callable[[str, Mapping[str, str], Mapping[str, str]], Awaitable[tuple[int, str]]]


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


@dataclass
class _SimCall:
    sid: str
    to: str
    from_: str
    status_callback: str
    conference_callback: str | None
    status: str = "queued"
    answered_at: float | None = None
    duration: int | None = None
    recordings: dict[str, str] = field(default_factory=dict)


def _attribute(twiml: str, verb: str, name: str) -> str | None:
    """An attribute of the first ``<verb>`` in a TwiML answer (the console follows our own URLs)."""
    match = re.search(rf"<{verb}\b[^>]*\b{name}=\"([^\"]*)\"", twiml)
    return html.unescape(match.group(1)) if match else None


def _conference_callback(twiml: str) -> str | None:
    return _attribute(twiml, "Conference", "statusCallback")


class ConsoleTwilio:
    """TwilioPort simulated in process; callbacks go through the public webhook URLs."""

    def __init__(self, settings: Settings, *, poster: Poster | None = None, history: int = 500) -> None:
        self.settings = settings
        self.token = settings.twilio_auth_token.get_secret_value()
        self.step = settings.console_step_seconds
        self.requests: deque[ProviderRequest] = deque(maxlen=history)
        self.calls: dict[str, _SimCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._poster = poster or self._http_post

    async def _http_post(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, str]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=10)
        response = await self._client.post(url, data=dict(params), headers=dict(headers))
        return response.status_code, response.text

    async def post_signed(self, url: str, params: Mapping[str, str]) -> int:
        """Post ``params`` to ``url`` with Twilio's signature, as Twilio would; the HTTP status."""
        return (await self._post(url, params))[0]

    async def _post(self, url: str, params: Mapping[str, str]) -> tuple[int, str]:
        headers = {
            TWILIO_SIGNATURE: twilio_signature(self.token, url, params),
            "User-Agent": "TwilioProxy/1.1",
        }
        try:
            status, body = await self._poster(url, params, headers)
        except httpx.HTTPError as exc:
            log.warning("console_callback_failed", url=urlsplit(url).path, error=repr(exc))
            return 0, ""
        log.info("console_callback", path=urlsplit(url).path, status=status, params=dict(params))
        return status, body

    def _voice_url(self, path: str) -> str:
        return f"{self.settings.public_webhook_base_url}/webhooks/twilio/voice/{path}"

    async def simulate_inbound(self, *, caller: str, digits: str) -> tuple[str, int, int]:
        """A customer calls our number and presses ``digits`` at the menu, as Twilio would run it.

        Returns (CallSid, HTTP status of the voice URL, HTTP status of the menu choice). The call
        then waits in its conference; ending it (``update_call``) or :meth:`simulate_hangup`
        sends the final status callback.
        """
        call = _SimCall(
            new_sid("CA"), self.settings.twilio_phone_number, caller, self._voice_url("status"), None
        )
        call.status = "ringing"
        self.calls[call.sid] = call
        params = {
            "AccountSid": self.settings.account_sid,
            "CallSid": call.sid,
            "From": caller,
            "To": self.settings.twilio_phone_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        greeted, body = await self._post(self._voice_url("incoming"), params)
        action = _attribute(body, "Gather", "action")
        if greeted != 200 or action is None:
            return call.sid, greeted, 0
        call.status, call.answered_at = "in-progress", time.monotonic()
        chosen, body = await self._post(action, {**params, "CallStatus": "in-progress", "Digits": digits})
        call.conference_callback = _attribute(body, "Conference", "statusCallback")
        if call.conference_callback:
            await self.post_signed(
                call.conference_callback,
                {
                    "AccountSid": self.settings.account_sid,
                    "ConferenceSid": new_sid("CF"),
                    "CallSid": call.sid,
                    "StatusCallbackEvent": "participant-join",
                    "FriendlyName": "",
                },
            )
        return call.sid, greeted, chosen

    async def simulate_hangup(self, call_sid: str) -> bool:
        """The customer hangs up (only calls the console is simulating)."""
        call = self.calls.get(call_sid)
        if call is None or call.status in {"completed", "canceled"}:
            return False
        call.duration = int(time.monotonic() - call.answered_at) if call.answered_at else 0
        call.status = "completed"
        await self.post_signed(call.status_callback, self._status_params(call, "completed"))
        return True

    def _record(self, operation: str, call_sid: str | None, **params: object) -> None:
        self.requests.append(ProviderRequest(operation, call_sid, params))
        log.info("console_twilio_request", operation=operation, call_sid=call_sid)

    def _later(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _status_params(self, call: _SimCall, status: str) -> dict[str, str]:
        params = {
            "AccountSid": self.settings.account_sid,
            "CallSid": call.sid,
            "CallStatus": status,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            "Timestamp": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "ApiVersion": "2010-04-01",
        }
        if status == "completed" and call.duration is not None:
            params["CallDuration"] = str(call.duration)
        return params

    async def _progress(self, call: _SimCall) -> None:
        for status in ("initiated", "ringing", "in-progress"):
            await asyncio.sleep(self.step)
            if call.status in {"completed", "canceled"}:
                return
            call.status = status
            if status == "in-progress":
                call.answered_at = time.monotonic()
            await self.post_signed(call.status_callback, self._status_params(call, status))
        if call.conference_callback:
            conference = new_sid("CF")
            for leg in (call.sid, new_sid("CA")):
                await self.post_signed(
                    call.conference_callback,
                    {
                        "AccountSid": self.settings.account_sid,
                        "ConferenceSid": conference,
                        "CallSid": leg,
                        "StatusCallbackEvent": "participant-join",
                        "FriendlyName": "",
                    },
                )

    async def create_call(self, *, to: str, from_: str, twiml: str, status_callback: str) -> ProviderCall:
        call = _SimCall(new_sid("CA"), to, from_, status_callback, _conference_callback(twiml))
        self.calls[call.sid] = call
        self._record(
            "calls.create", call.sid, to=to, from_=from_, twiml=twiml, status_callback=status_callback
        )
        self._later(self._progress(call))
        return ProviderCall(sid=call.sid, status="queued")

    async def update_call(
        self, sid: str, *, twiml: str | None = None, status: str | None = None
    ) -> ProviderCall:
        self._record("calls.update", sid, twiml=twiml, status=status)
        call = self.calls.get(sid)
        if call is None:  # an inbound call: Twilio knows it, the console did not create it
            return ProviderCall(sid=sid, status=status or "in-progress", duration=None)
        if status == "completed" and call.status not in {"completed", "canceled"}:
            call.duration = int(time.monotonic() - call.answered_at) if call.answered_at else 0
            final = "completed" if call.answered_at else "canceled"
            call.status = final

            async def finish() -> None:
                await asyncio.sleep(self.step / 3)
                await self.post_signed(call.status_callback, self._status_params(call, final))
                for recording, callback in call.recordings.items():
                    await self.post_signed(
                        callback,
                        {
                            "AccountSid": self.settings.account_sid,
                            "CallSid": call.sid,
                            "RecordingSid": recording,
                            "RecordingStatus": "completed",
                            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/"
                            f"{self.settings.account_sid}/Recordings/{recording}",
                            "RecordingDuration": str(call.duration or 0),
                        },
                    )

            self._later(finish())
        return ProviderCall(sid=sid, status=call.status, duration=call.duration)

    async def fetch_call(self, sid: str) -> ProviderCall:
        self._record("calls.fetch", sid)
        call = self.calls.get(sid)
        if call is None:
            return ProviderCall(sid=sid, status="in-progress")
        return ProviderCall(sid=sid, status=call.status, duration=call.duration)

    async def start_recording(self, call_sid: str, *, callback: str) -> ProviderRecording:
        recording = new_sid("RE")
        self._record("recordings.create", call_sid, recording_sid=recording, callback=callback)
        sim = self.calls.get(call_sid)
        if sim is not None:
            sim.recordings[recording] = callback
        return ProviderRecording(sid=recording, status="in-progress")

    async def start_transcription(self, call_sid: str, *, name: str, callback: str, language: str) -> str:
        """Recorded only: the console has no audio to transcribe."""
        sid = new_sid("GT")
        self._record(
            "transcriptions.create",
            call_sid,
            transcription_sid=sid,
            name=name,
            callback=callback,
            language=language,
        )
        return sid

    async def stop_transcription(self, call_sid: str, transcription_sid: str) -> None:
        self._record("transcriptions.update", call_sid, transcription_sid=transcription_sid, status="stopped")

    async def set_recording(self, call_sid: str, recording_sid: str, *, status: str) -> ProviderRecording:
        self._record("recordings.update", call_sid, recording_sid=recording_sid, status=status)
        return ProviderRecording(sid=recording_sid, status=status)

    async def download_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """A second of silence (8 kHz, 16-bit mono WAV): the local stack has no real media."""
        self._record("recordings.download", None, recording_sid=recording_sid)
        samples = b"\x00\x00" * 8000
        header = (
            b"RIFF"
            + (36 + len(samples)).to_bytes(4, "little")
            + b"WAVEfmt "
            + (16).to_bytes(4, "little")
            + (1).to_bytes(2, "little")
            + (1).to_bytes(2, "little")
            + (8000).to_bytes(4, "little")
            + (16000).to_bytes(4, "little")
            + (2).to_bytes(2, "little")
            + (16).to_bytes(2, "little")
            + b"data"
            + len(samples).to_bytes(4, "little")
        )
        return header + samples, "audio/wav"

    async def delete_recording(self, recording_sid: str) -> None:
        self._record("recordings.delete", None, recording_sid=recording_sid)

    async def update_participant(
        self,
        conference_sid: str,
        call_sid: str,
        *,
        hold: bool | None = None,
        hold_url: str | None = None,
        muted: bool | None = None,
    ) -> None:
        self._record(
            "participants.update",
            call_sid,
            conference_sid=conference_sid,
            hold=hold,
            hold_url=hold_url,
            muted=muted,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
