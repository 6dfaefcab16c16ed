"""What an uploaded claim file is: its type from its first bytes, and a name safe to show.

The type is recognised from the content, never from the name or the declared ``Content-Type``:
JPEG (``FF D8 FF``), PNG (its 8-byte signature) and PDF (``%PDF-``). HEIC is refused: the photo
checks downstream (ai-fraud's Pillow hashing) cannot read it without libheif, so it would be
stored but never checked.
"""

from __future__ import annotations

import unicodedata

SNIFF_BYTES = 16

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
ACCEPTED = tuple(content_type for _, content_type in _SIGNATURES)
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
MAX_NAME = 255


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file announce, when it is one we accept."""
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def describe(head: bytes) -> str:
    """A short word for a refused file's content (for the 422's detail)."""
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
        return "HEIC/HEIF"
    if not head:
        return "empty"
    return "unrecognised"


def safe_name(filename: str | None, content_type: str) -> str:
    """The uploaded file's base name without path, control characters or NULs; at most 255 chars."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = name.strip().strip(".") or "document" + EXTENSIONS.get(content_type, "")
    return name[:MAX_NAME]
