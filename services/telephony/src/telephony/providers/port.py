"""What telephony needs from Twilio's REST API, as a small port with two adapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from aintech_shared.errors import AppError

STATUS_EVENTS = ("initiated", "ringing", "answered", "completed")
RECORDING_EVENTS = ("in-progress", "completed", "absent")


class ProviderError(AppError):
    """Twilio refused or could not be reached; nothing was changed on our side."""

    status, slug, title = 502, "provider-error", "Telephony provider error"


@dataclass(frozen=True)
class ProviderCall:
    sid: str
    status: str
    duration: int | None = None


@dataclass(frozen=True)
class ProviderRecording:
    sid: str
    status: str


@dataclass(frozen=True)
class ProviderRequest:
    """One outbound REST operation, as the console adapter records it."""

    operation: str
    call_sid: str | None
    params: dict[str, object]


class TwilioPort(Protocol):
    """The REST operations telephony performs (the real adapter uses the official SDK)."""

    async def create_call(self, *, to: str, from_: str, twiml: str, status_callback: str) -> ProviderCall:
        """Dial ``to`` and run ``twiml`` when answered; status callbacks go to ``status_callback``."""
        ...

    async def update_call(
        self, sid: str, *, twiml: str | None = None, status: str | None = None
    ) -> ProviderCall:
        """Redirect a live call to new TwiML, or end it (``status="completed"``)."""
        ...

    async def fetch_call(self, sid: str) -> ProviderCall:
        """The call as Twilio knows it (status, duration)."""
        ...

    async def start_recording(self, call_sid: str, *, callback: str) -> ProviderRecording:
        """Start recording a live call; recording callbacks go to ``callback``."""
        ...

    async def start_transcription(self, call_sid: str, *, name: str, callback: str, language: str) -> str:
        """Start the real-time transcription of a live call (both tracks, final results only);
        its events go to ``callback``. Returns the transcription's SID."""
        ...

    async def stop_transcription(self, call_sid: str, transcription_sid: str) -> None:
        """Stop a live call's real-time transcription."""
        ...

    async def set_recording(self, call_sid: str, recording_sid: str, *, status: str) -> ProviderRecording:
        """Pause (``paused``) or resume (``in-progress``) a recording."""
        ...

    async def update_participant(
        self,
        conference_sid: str,
        call_sid: str,
        *,
        hold: bool | None = None,
        hold_url: str | None = None,
        muted: bool | None = None,
    ) -> None:
        """Hold (with music) or mute one participant of a call's conference."""
        ...

    async def download_recording(self, recording_sid: str) -> tuple[bytes, str]:
        """A finished recording's media and its content type (WAV)."""
        ...

    async def delete_recording(self, recording_sid: str) -> None:
        """Delete a recording at the provider (once it is kept by the platform)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
