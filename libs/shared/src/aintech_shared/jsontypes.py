"""Field types that take what the JSON Schema of the document says, no more and no less.

Pydantic's lax ``int`` also takes ``true``/``false`` and numeric text (``"7"``), which the document's
``"type": "integer"`` refuses; its strict ``int`` refuses ``7.0``, which JSON Schema calls an
integer (a number without a fractional part). ``JsonInt`` takes exactly JSON Schema's integers.
A boolean is ``StrictBool`` (``true`` or ``false``, not ``0`` or ``"yes"``).

Bounds on an optional integer (or one inside a list or a mapping) go before the validator:
``Annotated[int, Field(ge=1), JSON_INTEGER] | None``. Written after it (``JsonInt | None =
Field(ge=1)``, ``Annotated[JsonInt, Field(ge=1)]``) pydantic still enforces them but writes them in
the document as ``"ge": 1``, which JSON Schema ignores: the document would state no bound at all.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _json_integer(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON integer (a number without a fractional part)")
    return value  # pydantic's int then takes 7 and 7.0, and refuses 7.5


# The validator alone, for bounds stated before it (see above).
JSON_INTEGER = BeforeValidator(_json_integer)
JsonInt = Annotated[int, JSON_INTEGER]
