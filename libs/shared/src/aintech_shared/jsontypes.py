"""Field types that take what the JSON Schema of the document says, no more and no less.

Pydantic's lax ``int`` also takes ``true``/``false`` and numeric text (``"7"``), which the document's
``"type": "integer"`` refuses; its strict ``int`` refuses ``7.0``, which JSON Schema calls an
integer (a number without a fractional part). ``JsonInt`` takes exactly JSON Schema's integers.
A boolean is ``StrictBool`` (``true`` or ``false``, not ``0`` or ``"yes"``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer (a number without a fractional part)")
    return value  # pydantic's int then takes 7 and 7.0, and refuses 7.5


JsonInt = Annotated[int, BeforeValidator(_json_integer)]
