"""TwiML answers built with the official SDK's VoiceResponse."""

from __future__ import annotations

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

TWIML_MEDIA_TYPE = "application/xml"
LANGUAGE = "es-ES"
VOICE = "Polly.Lucia"


def conference_name(call_id: object) -> str:
    """Every connected call is a conference named after the call (hold and mute act on it)."""
    return f"call-{call_id}"


def say(response: VoiceResponse | Gather, text: str) -> None:
    response.say(text, language=LANGUAGE, voice=VOICE)


def join_conference(
    call_id: object,
    *,
    conference_callback: str,
    wait_url: str | None,
    customer: bool,
    action: str | None = None,
    announcement: str | None = None,
    consent_action: str | None = None,
    consent_timeout: int = 5,
    language: str = "es",
) -> str:
    """A party joins the call's conference: the customer ends it on exit, an agent does not.

    With ``consent_action`` (a customer we dialled) the recording notice is read first, in a
    ``<Gather>``: a key goes to ``consent_action`` (8 refuses); no key falls through to the
    conference, the notice heard and not refused."""
    response = VoiceResponse()
    if announcement:
        say(response, announcement)
    if consent_action:
        gather = Gather(num_digits=1, action=consent_action, method="POST", timeout=consent_timeout)
        if language == "en":
            gather.say(RECORDING_NOTICE["en"], language="en-GB")
        else:
            say(gather, RECORDING_NOTICE["es"])
        response.append(gather)
    dial = Dial(action=action, method="POST") if action else Dial()
    dial.conference(
        conference_name(call_id),
        start_conference_on_enter=not customer,
        end_conference_on_exit=customer,
        beep=False,
        wait_url=wait_url,
        wait_method="POST",
        status_callback=conference_callback,
        status_callback_event="start end join leave",
        status_callback_method="POST",
    )
    response.append(dial)
    return str(response)


RECORDING_NOTICE = {
    "es": "Le informamos de que esta llamada puede ser grabada para garantizar la calidad del servicio "
    "y como prueba de lo que contrate, conforme al RGPD y la LOPDGDD. Si no desea que se grabe, pulse 8.",
    "en": "This call may be recorded to ensure the quality of our service and as evidence of what you "
    "buy, under the GDPR. If you do not want it recorded, press 8.",
}


CONSENT_ANSWER = {
    ("es", "refused"): "De acuerdo: esta llamada no se grabará.",
    ("es", "given"): "Gracias.",
    ("en", "refused"): "Understood: this call will not be recorded.",
    ("en", "given"): "Thank you.",
}


def ivr_menu(
    *,
    greeting: str,
    action: str,
    timeout: int,
    fallback: str,
    language: str = "es",
    recording_notice: bool = True,
) -> str:
    """Greeting, the recording notice (8 refuses), then the department menu; no key pressed goes to
    ``fallback`` ("other"). The Spanish menu offers English (9); the English one is read in English."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action, method="POST", timeout=timeout)
    say(gather, greeting)
    if recording_notice:
        if language == "en":
            gather.say(RECORDING_NOTICE["en"], language="en-GB")
        else:
            say(gather, RECORDING_NOTICE["es"])
    if language == "en":
        gather.say(
            "For claims, press 1. To buy insurance, press 2. For renewals, press 3. "
            "For anything else, press 0.",
            language="en-GB",
        )
    else:
        say(
            gather,
            "Para siniestros, pulse 1. Para contratar un seguro, pulse 2. "
            "Para renovaciones, pulse 3. Para cualquier otra consulta, pulse 0.",
        )
        gather.say("For English, press 9.", language="en-GB")
    response.append(gather)
    response.redirect(fallback, method="POST")
    return str(response)


def hold_loop(*, message: str | None, music_url: str) -> str:
    """What a waiting caller hears: their position, then music (Twilio re-requests the wait URL)."""
    response = VoiceResponse()
    if message:
        say(response, message)
    response.play(music_url)
    return str(response)


def voicemail(
    *, message: str, action: str, recording_callback: str, transcribe_callback: str, max_seconds: int
) -> str:
    """Closed: a message, then a recorded and transcribed voicemail."""
    response = VoiceResponse()
    say(response, message)
    response.record(
        action=action,
        method="POST",
        max_length=max_seconds,
        play_beep=True,
        finish_on_key="#",
        transcribe=True,
        transcribe_callback=transcribe_callback,
        recording_status_callback=recording_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )
    say(response, "No hemos recibido su mensaje. Adiós.")
    response.hangup()
    return str(response)


def dial_number(number: str, *, caller_id: str, action: str, announcement: str | None = None) -> str:
    """Hand the caller to an outside number (a cold transfer)."""
    response = VoiceResponse()
    if announcement:
        say(response, announcement)
    dial = Dial(caller_id=caller_id, action=action, method="POST")
    dial.number(number)
    response.append(dial)
    return str(response)


def message_and_hangup(text: str) -> str:
    response = VoiceResponse()
    say(response, text)
    response.hangup()
    return str(response)


def empty() -> str:
    return str(VoiceResponse())
