"""A fake Twilio REST API on 127.0.0.1 for the official SDK: records every request, answers like Twilio."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API = "/2010-04-01/Accounts/{account}"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    auth: tuple[str, str] | None


@dataclass
class FakeTwilio:
    """Calls, recordings and conference participants, enough for telephony's REST use."""

    account_sid: str
    requests: list[Recorded] = field(default_factory=list)
    calls: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_next: tuple[int, int, str] | None = None  # (HTTP status, Twilio code, message)
    completed_duration: str = "42"
    media: dict[str, bytes] = field(default_factory=dict)  # recording sid -> what .wav serves
    url: str = ""
    _runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        base = API.format(account="{account}")
        app.router.add_post(base + "/Calls.json", self.create_call)
        app.router.add_post(base + "/Calls/{sid}.json", self.update_call)
        app.router.add_get(base + "/Calls/{sid}.json", self.fetch_call)
        app.router.add_post(base + "/Calls/{sid}/Recordings.json", self.create_recording)
        app.router.add_post(base + "/Calls/{sid}/Recordings/{rsid}.json", self.update_recording)
        app.router.add_post(base + "/Calls/{sid}/Transcriptions.json", self.create_transcription)
        app.router.add_post(base + "/Calls/{sid}/Transcriptions/{tsid}.json", self.update_transcription)
        app.router.add_post(base + "/Conferences/{cf}/Participants/{sid}.json", self.update_participant)
        app.router.add_get(base + "/Recordings/{rsid}.wav", self.recording_media)
        app.router.add_delete(base + "/Recordings/{rsid}.json", self.delete_recording)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def made(self, suffix: str, method: str = "POST") -> list[Recorded]:
        """Requests whose path ends with ``suffix``."""
        return [r for r in self.requests if r.method == method and r.path.endswith(suffix)]

    async def _record(self, request: web.Request) -> web.Response | Recorded:
        posted = await request.post()
        form = {k: " ".join(str(v) for v in posted.getall(k)) for k in posted}  # repeated fields joined
        auth = None
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            auth = (user, password)
        recorded = Recorded(request.method, request.path, form, auth)
        self.requests.append(recorded)
        if request.match_info.get("account") != self.account_sid:
            return _error(404, 20404, "The requested resource was not found")
        if self.fail_next is not None:
            status, code, message = self.fail_next
            self.fail_next = None
            return _error(status, code, message)
        return recorded

    def _call_json(self, sid: str) -> dict[str, Any]:
        call = self.calls[sid]
        return {"sid": sid, "account_sid": self.account_sid, **call}

    async def create_call(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        sid = "CA" + secrets.token_hex(16)
        self.calls[sid] = {
            "status": "queued",
            "to": got.form.get("To"),
            "from": got.form.get("From"),
            "duration": None,
            "direction": "outbound-api",
        }
        return web.json_response(self._call_json(sid), status=201)

    async def update_call(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        sid = request.match_info["sid"]
        call = self.calls.setdefault(sid, {"status": "in-progress", "duration": None})
        if got.form.get("Status") in {"completed", "canceled"}:
            call["status"] = got.form["Status"]
            call["duration"] = self.completed_duration if got.form["Status"] == "completed" else "0"
        return web.json_response(self._call_json(sid))

    async def fetch_call(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        sid = request.match_info["sid"]
        if sid not in self.calls:
            return _error(404, 20404, "The requested resource was not found")
        return web.json_response(self._call_json(sid))

    async def create_recording(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        rsid = "RE" + secrets.token_hex(16)
        return web.json_response(
            {
                "sid": rsid,
                "call_sid": request.match_info["sid"],
                "status": "in-progress",
                "account_sid": self.account_sid,
            },
            status=201,
        )

    async def create_transcription(self, request: web.Request) -> web.Response:
        """Real-Time Transcription of a live call (its events are the test's to post, signed)."""
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        return web.json_response(
            {
                "sid": "GT" + secrets.token_hex(16),
                "account_sid": self.account_sid,
                "call_sid": request.match_info["sid"],
                "name": got.form.get("Name"),
                "status": "in-progress",
                "date_updated": "Mon, 07 Dec 2026 12:00:00 +0000",
                "uri": None,
            },
            status=201,
        )

    async def update_transcription(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        return web.json_response(
            {
                "sid": request.match_info["tsid"],
                "account_sid": self.account_sid,
                "call_sid": request.match_info["sid"],
                "name": None,
                "status": got.form.get("Status"),
                "date_updated": "Mon, 07 Dec 2026 12:00:00 +0000",
                "uri": None,
            }
        )

    async def recording_media(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        media = self.media.get(request.match_info["rsid"])
        if media is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.Response(body=media, content_type="audio/x-wav")

    async def delete_recording(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        self.media.pop(request.match_info["rsid"], None)
        return web.Response(status=204)

    async def update_recording(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        return web.json_response(
            {
                "sid": request.match_info["rsid"],
                "call_sid": request.match_info["sid"],
                "status": got.form.get("Status"),
                "account_sid": self.account_sid,
            }
        )

    async def update_participant(self, request: web.Request) -> web.Response:
        got = await self._record(request)
        if isinstance(got, web.Response):
            return got
        return web.json_response(
            {
                "call_sid": request.match_info["sid"],
                "conference_sid": request.match_info["cf"],
                "hold": got.form.get("Hold") == "true",
                "muted": got.form.get("Muted") == "true",
                "account_sid": self.account_sid,
            }
        )


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )
