"""Fake Twilio and SendGrid REST servers on loopback, and the providers' own signing schemes."""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import uvicorn
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-twilio-auth-token-0123456789"
SENDGRID_KEY = "SG.test-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """Runs an ASGI app with uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any, *, lifespan: Literal["on", "off"] = "off") -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_config=None, access_log=False, lifespan=lifespan
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@dataclass
class FakeTwilio:
    """Twilio's Messages resource: checks Basic auth, records each message, answers like Twilio."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    # Errors to answer with, in order: (HTTP status, Twilio error code, message)
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def create(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            expected = "Basic " + base64.b64encode(f"{TWILIO_SID}:{TWILIO_TOKEN}".encode()).decode()
            if auth != expected or request.path_params["sid"] != TWILIO_SID:
                return JSONResponse(
                    {"code": 20003, "message": "Authenticate", "status": 401}, status_code=401
                )
            form = await request.form()
            with self.lock:
                if self.failures:
                    status, code, message = self.failures.pop(0)
                    return JSONResponse(
                        {"code": code, "message": message, "status": status}, status_code=status
                    )
                sid = "SM" + uuid.uuid4().hex
                record = {
                    "sid": sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "media": form.getlist("MediaUrl"),
                    "status_callback": form.get("StatusCallback"),
                    "content_sid": form.get("ContentSid"),
                    "content_variables": form.get("ContentVariables"),
                }
                self.sent.append(record)
            return JSONResponse(
                {
                    "sid": sid,
                    "account_sid": TWILIO_SID,
                    "to": record["to"],
                    "from": record["from"],
                    "body": record["body"],
                    "status": "queued",
                    "num_media": str(len(form.getlist("MediaUrl"))),
                    "direction": "outbound-api",
                },
                status_code=201,
            )

        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", create, methods=["POST"])])

    def to(self, number: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if str(m["to"]).endswith(number)]


@dataclass
class FakeSendGrid:
    """SendGrid's v3 mail/send: checks the API key, records the JSON, answers 202 with X-Message-Id."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def send(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {SENDGRID_KEY}":
                return JSONResponse({"errors": [{"message": "unauthorized"}]}, status_code=401)
            body = orjson.loads(await request.body())
            with self.lock:
                if self.failures:
                    return JSONResponse({"errors": [{"message": "fail"}]}, status_code=self.failures.pop(0))
                message_id = uuid.uuid4().hex[:22]
                self.sent.append({"x_message_id": message_id, **body})
            return Response(status_code=202, headers={"X-Message-Id": message_id})

        return Starlette(routes=[Route("/v3/mail/send", send, methods=["POST"])])

    def to(self, address: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m["personalizations"][0]["to"][0]["email"] == address]


class SendGridSigner:
    """An ECDSA P-256 key pair: the public half is the 'verification key' SendGrid shows."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()

    def headers(self, payload: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.private_key.sign(ts.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        }


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """What Twilio puts in X-Twilio-Signature for a form POST to ``url``."""
    return str(RequestValidator(token).compute_signature(url, params))
