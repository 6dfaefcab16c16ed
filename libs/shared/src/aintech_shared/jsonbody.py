"""JSON request bodies whose text cannot be stored are refused with 422, once, for every route.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``) or a NUL (``"\\u0000"``) anywhere, keys of
free-form objects included. Python decodes both, but neither is text Postgres (or UTF-8) can hold:
left alone they surface as 500s deep in a validator, an encoder or the database. The guard looks
at the raw bytes as they are read (an escape of that kind is rare) and decodes only a body that
spells one, so ordinary requests pay one regular-expression scan.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A surrogate escape (\uD800-\uDFFF) or a NUL escape, as JSON spells them in the raw body.
_SUSPECT = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _shown(key: str) -> str:
    """A key as it can be shown back (escaped when it holds what cannot be encoded)."""
    return ascii(key)[1:-1] if _UNSTORABLE.search(key) else key


def unstorable_text(value: Any, path: tuple[str, ...] = ()) -> tuple[str, str, str] | None:
    """The first place in decoded JSON holding a lone surrogate or a NUL: (field, message, type)."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found:
            return ".".join(path), f"must not contain {_what(found.group())}", _kind(found.group())
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _UNSTORABLE.search(key)
            if found:
                field = ".".join((*path, _shown(key)))
                return field, f"a key must not contain {_what(found.group())}", _kind(found.group())
            inner = unstorable_text(item, (*path, key))
            if inner:
                return inner
    elif isinstance(value, list):
        for index, item in enumerate(value):
            inner = unstorable_text(item, (*path, str(index)))
            if inner:
                return inner
    return None


def _what(char: str) -> str:
    if char == "\x00":
        return "NUL characters (\\u0000)"
    return f"a lone UTF-16 surrogate ({ascii(char)[1:-1]}): it is not Unicode text"


def _kind(char: str) -> str:
    return "nul_character" if char == "\x00" else "string_unicode"


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # FastAPI reads a body without a content type as JSON


class UnstorableText(HTTPException):
    """A 422 raised while the body is read, so it reaches the app's problem+json handler."""

    def __init__(self, field: str, message: str, kind: str) -> None:
        super().__init__(422, detail=f"{field or 'The body'}: {message}.")
        self.errors = [{"location": "body", "field": field, "message": message, "type": kind}]


class JsonTextGuard:
    """Pure ASGI middleware: a JSON body spelling a lone surrogate or a NUL anywhere answers 422.

    It watches the body as the app reads it (nothing is read that the app does not read, and the
    chunks are not copied); when the last chunk arrives and some chunk spelled a suspect escape,
    the whole body is decoded once and searched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        suspect = False
        tail = b""

        async def guarded() -> Message:
            nonlocal suspect, tail
            message = await receive()
            if message["type"] != "http.request":
                return message
            chunk: bytes = message.get("body", b"")
            chunks.append(chunk)
            window = tail + chunk  # an escape may straddle two chunks
            suspect = suspect or _SUSPECT.search(window) is not None
            tail = window[-5:]
            if suspect and not message.get("more_body", False):
                try:
                    found = unstorable_text(json.loads(b"".join(chunks)))
                except ValueError:
                    found = None  # not JSON: the route answers it as malformed
                if found is not None:
                    raise UnstorableText(*found)
            return message

        await self.app(scope, guarded, send)
