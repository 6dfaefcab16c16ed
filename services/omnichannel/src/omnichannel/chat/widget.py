"""The embeddable customer chat page and its Content-Security-Policy.

The page's one inline script and one inline style are allowed by their SHA-256 hashes (no
``'unsafe-inline'``); it talks only to its own origin (the gateway: ``/api/auth``,
``/api/omnichannel``, ``/ws/omnichannel``); and it may be framed by the platform itself and by the
origins in ``OMNICHANNEL_WIDGET_ORIGINS`` (the broker's websites), nobody else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from importlib import resources

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@lru_cache(maxsize=1)
def page() -> str:
    return resources.files("omnichannel.chat").joinpath("widget.html").read_text("utf-8")


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@lru_cache(maxsize=8)
def policy(frame_origins: tuple[str, ...]) -> str:
    """The page's Content-Security-Policy, framed by ``'self'`` and ``frame_origins``."""
    scripts = [_hash(body) for kind, body in _INLINE.findall(page()) if kind == "script"]
    styles = [_hash(body) for kind, body in _INLINE.findall(page()) if kind == "style"]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join(scripts),
            "style-src " + " ".join(styles),
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors " + " ".join(["'self'", *frame_origins]),
        ]
    )
