"""Model artifacts read safely: the digest their record names first, then only trusted types.

Both model-serving services (ai-fraud's registry, analytics' churn model) keep scikit-learn models
as skops files. Loading one never unpickles arbitrary code: its SHA-256 must match the digest
recorded when it was trained, and every type it holds must come from scikit-learn, NumPy, SciPy or
the builtins. The service that loads models declares ``skops`` (it is imported here on use only).
"""

from __future__ import annotations

import hashlib
from typing import Any

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.")


def load_trusted(
    artifact: bytes, *, expected_digest: str, refused: type[Exception], record: str = "its record"
) -> Any:
    """The object in the skops ``artifact``; ``refused(reason)`` when its digest or types are wrong
    or it cannot be read."""
    import skops.io as sio

    digest = hashlib.sha256(artifact).hexdigest()
    if digest != expected_digest:
        raise refused(f"artifact digest {digest[:12]}… does not match {record} {expected_digest[:12]}…")
    try:
        untrusted = sio.get_untrusted_types(data=artifact)
    except Exception as exc:
        raise refused(f"artifact cannot be read: {exc.__class__.__name__}") from exc
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise refused(f"artifact holds types outside scikit-learn/NumPy/SciPy: {', '.join(foreign[:5])}")
    try:
        return sio.loads(artifact, trusted=untrusted)
    except Exception as exc:  # never crash a caller on a corrupt file
        raise refused(f"artifact cannot be read: {exc.__class__.__name__}") from exc
