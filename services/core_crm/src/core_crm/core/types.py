"""Validated field types of the API: bounded text without NUL bytes, bounded JSON, Spanish data."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
    RootModel,
    StringConstraints,
    TypeAdapter,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema

from aintech_shared.instants import Day
from aintech_shared.instants import Instant as SharedInstant
from core_crm.core import spain

T = TypeVar("T")

# Free-form JSON (metadata, details, a workflow's data): what orjson, JSONB and the event relay carry.
MAX_JSON_BYTES = 16 * 1024
MAX_JSON_DEPTH = 32  # levels of nested objects and arrays, the free-form object itself the first
# Numbers (integers or not) within ±(2^53 - 1), the integers every JSON reader holds exactly (a
# browser's JavaScript, a validator comparing in doubles; orjson and the relay stop at 64 bits).
# A 64-bit bound could not be stated: the document's numbers are doubles, and 2^63 - 1 is not one.
MAX_JSON_NUMBER = 2**53 - 1


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _no_nul_deep(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, bool):
        pass
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    elif isinstance(value, int | float) and not -MAX_JSON_NUMBER <= value <= MAX_JSON_NUMBER:
        raise ValueError("numbers must lie within ±(2^53 - 1), the integers JSON readers hold exactly")
    elif isinstance(value, dict | list):
        if depth >= MAX_JSON_DEPTH:
            raise ValueError(f"must nest objects and arrays at most {MAX_JSON_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                _no_nul(str(key))
                _no_nul_deep(item, depth + 1)
        else:
            for item in value:
                _no_nul_deep(item, depth + 1)
    return value


def _bounded_json(value: Any) -> Any:
    _no_nul_deep(value)
    if len(orjson.dumps(value)) > MAX_JSON_BYTES:
        raise ValueError(f"must serialise to at most {MAX_JSON_BYTES} bytes of JSON")
    return value


_JSON_NUMBER = Annotated[
    float,
    WithJsonSchema({"type": "number", "minimum": -MAX_JSON_NUMBER, "maximum": MAX_JSON_NUMBER}),
]


class JsonValue(RootModel[None | bool | _JSON_NUMBER | str | list["JsonValue"] | dict[str, "JsonValue"]]):
    """Any JSON value whose numbers lie within ±(2^53 - 1) (the integers JSON readers hold exactly).
    In a free-form object, also: at most 32 levels of nested objects and arrays, and at most
    16 KiB as JSON (stated in the description: JSON Schema has no words for either)."""


_FREE_FORM = TypeAdapter(dict[str, JsonValue]).core_schema
_FREE_FORM_RULES = (
    f"Free-form JSON: numbers within ±(2^53 - 1), at most {MAX_JSON_DEPTH} levels of "
    f"nested objects and arrays, at most {MAX_JSON_BYTES // 1024} KiB as JSON, no NUL characters."
)


class _StatedFreeForm:
    """The document's schema of a free-form object: what the validator (``_bounded_json``) takes,
    each value a ``JsonValue`` (its own component), so schema and server agree on every number."""

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        plain = handler(core_schema)  # keeps the field's own constraints (minProperties)
        stated = handler(_FREE_FORM)
        return {**plain, **stated, "description": _FREE_FORM_RULES}


# Stripped, non-empty strings without NUL bytes, as long as their column allows.
Str20 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), AfterValidator(_no_nul)
]
Str50 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), AfterValidator(_no_nul)
]
Str100 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_no_nul)
]
Str255 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), AfterValidator(_no_nul)
]
Str500 = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), AfterValidator(_no_nul)
]
Url = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^https?://[^\s]+$"),
    AfterValidator(_no_nul),
]


# Free text (notes, descriptions): TEXT columns, bounded so one request cannot store megabytes.
LongText = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]
JsonObject = Annotated[dict[str, Any], AfterValidator(_bounded_json), _StatedFreeForm()]
Tag = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=50),
    AfterValidator(_no_nul),
]
Tags = Annotated[list[Tag], Field(max_length=50)]


# The "leave it out" of a PATCH field that cannot be cleared (`title: Omittable[Str255] = None`): the
# document offers only the value's type, so null is schema-invalid, and validation refuses it with a field
# error (422 "cannot be null") before any rule of the service (a precondition) is looked at.
def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("cannot be null")
    return value


Omittable = Annotated[T | SkipJsonSchema[None], BeforeValidator(_refuse_null)]

# Query-string text: NUL bytes refused before they reach the database.
QueryText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_no_nul)]


def _amount_schema(digits: int, places: int, *, positive: bool, maximum: int | None = None) -> WithJsonSchema:
    """The JSON schema of a Numeric(digits, places) amount, saying what the column takes: a number
    or a decimal string, at most ``digits - places`` digits before the point and ``places`` after."""
    whole = digits - places
    number: dict[str, Any] = {"type": "number", "multipleOf": 10**-places}
    number["exclusiveMinimum" if positive else "minimum"] = 0
    if maximum is None:
        number["exclusiveMaximum"] = 10**whole
    else:
        number["maximum"] = maximum
    if not positive:
        pattern = rf"^[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?$"
    else:
        # Above zero: a whole part without leading zeros, or a fraction that is not all zeros
        # ("0" and "0.00" are schema-invalid, as the number form's exclusiveMinimum says).
        assert places == 2, "positive amounts have two decimals"
        fraction = r"0?\.(?:0[1-9]|[1-9][0-9]?)"
        if maximum is None:
            pattern = rf"^(?:[1-9][0-9]{{0,{whole - 1}}}(?:\.[0-9]{{1,2}})?|{fraction})$"
        else:
            assert maximum == 100, "the one bounded amount is a percentage"
            pattern = rf"^(?:100(?:\.0{{1,2}})?|[1-9][0-9]?(?:\.[0-9]{{1,2}})?|{fraction})$"
    text = {"type": "string", "pattern": pattern}
    return WithJsonSchema({"anyOf": [number, text]}, mode="validation")


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    _amount_schema(12, 2, positive=False),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
Premium = Annotated[
    Decimal,
    Field(gt=0, max_digits=10, decimal_places=2),
    _amount_schema(10, 2, positive=True),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
Percent = Annotated[
    Decimal,
    Field(gt=0, le=100, max_digits=5, decimal_places=2),
    _amount_schema(5, 2, positive=True, maximum=100),
]


def _opt(func: Any) -> Any:
    def run(value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return str(func(_no_nul(value)))

    return run


Max10 = Annotated[str, StringConstraints(max_length=10)]
Max20 = Annotated[str, StringConstraints(max_length=20)]
Max40 = Annotated[str, StringConstraints(max_length=40)]
Max42 = Annotated[str, StringConstraints(max_length=42)]

Phone = Annotated[
    Max40 | None,
    AfterValidator(_opt(spain.phone)),
    Field(default=None, description="International (E.164) or Spanish national number."),
]
PersonalId = Annotated[
    Max20 | None,
    AfterValidator(_opt(spain.personal_id)),
    Field(default=None, description="DNI or NIE; the check letter is verified."),
]
CompanyId = Annotated[
    Max20 | None,
    AfterValidator(_opt(spain.company_id)),
    Field(default=None, description="CIF; the control character is verified."),
]
Iban = Annotated[
    Max42 | None,
    AfterValidator(_opt(spain.iban)),
    Field(default=None, description="IBAN; the check digits are verified."),
]
PostalCode = Annotated[
    Max10 | None,
    AfterValidator(_opt(lambda v: (spain.province_of_postal_code(v), v.strip())[1])),
    Field(default=None, description="Five digits; the first two must match the province."),
]

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
# The rule as the document states it: the year as written is 1900-2200 (the schema's `pattern`, next to
# its `format`). Text is judged by that; a date or datetime object by its own year.
SANE_YEAR_PATTERN = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-"
_SANE_YEAR = re.compile(SANE_YEAR_PATTERN)
_YEAR_RANGE = f"must be between {MIN_DATE.year} and {MAX_DATE.year}"


def _sane_year_text(value: Any) -> Any:
    """Refuse text whose year (as written) is outside the range; other malformed text is left to the
    format's own check, which says what is wrong with it."""
    if isinstance(value, str) and re.match(r"[0-9]{4}-", value) and not _SANE_YEAR.match(value):
        raise ValueError(_YEAR_RANGE)
    return value


def _sane_date(value: date | None) -> date | None:
    if value is not None and not (MIN_DATE <= value <= MAX_DATE):
        raise ValueError(_YEAR_RANGE)
    return value


SaneDate = Annotated[
    Day,
    AfterValidator(_sane_date),
    BeforeValidator(_sane_year_text),
    Field(json_schema_extra={"pattern": SANE_YEAR_PATTERN}),
]


def _sane_instant(value: datetime) -> datetime:
    # In UTC a year-2200 instant written with a negative offset is in 2201 (and 1900 with a positive
    # one in 1899): the written year decides (above); this only keeps date arithmetic from overflowing.
    if not (MIN_DATE.year - 1 <= value.year <= MAX_DATE.year + 1):
        raise ValueError(_YEAR_RANGE)
    return value


# An instant with a time zone, within a sane range (so no date arithmetic can overflow).
Instant = Annotated[
    SharedInstant,
    AfterValidator(_sane_instant),
    BeforeValidator(_sane_year_text),
    Field(json_schema_extra={"pattern": SANE_YEAR_PATTERN}),
]

# Amounts stored in Numeric(10, 2) columns.
SmallMoney = Annotated[
    Decimal,
    Field(ge=0, max_digits=10, decimal_places=2),
    _amount_schema(10, 2, positive=False),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
