"""Tariff files: CSV and XLSX in one flat layout, read and written; row-precise problems.

Columns: ``section, item, field, op, from, to, value, text`` (header on row 1). Sections:

==============  ==================  ==============================================================
section         item                other columns
==============  ==================  ==============================================================
tariff          a setting           value (product_code, carrier, product_name, line,
                                    effective_from, effective_to, base_mode, base_field,
                                    default_zone, minimum_premium, maximum_premium,
                                    commission_min, commission_max, illustrative, notes)
zone            postal prefix       value = zone
cover           cover code          field = name | rank | covers (space-separated) | deductible |
                                    compulsory_rc_share; value
cover_limit     cover code          field = limit name; value
base_rate       cover code          field = zone (or ``*``); value
factor          table name          field = risk input; op = multiplicative | additive; text
band            table name          from, to (empty: open), value
category        table name          field = the matching value (``true``/``false`` for yes/no); value
adjustment      code                field = discount | surcharge; op = percent | amount; value; text
condition       adjustment code     field, op, value (``in``: values separated by ``|``)
eligibility     cover code or ``*`` field, op, value; text = the reason given when refused
==============  ==================  ==============================================================
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from fastapi import UploadFile

from aintech_shared.errors import AppError, UnprocessableEntity
from aintech_shared.webhooks import PayloadTooLarge
from quote_engine.rating.tariff import TariffDefinition

COLUMNS = ("section", "item", "field", "op", "from", "to", "value", "text")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 5000


class UnsupportedMediaType(AppError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported file type"


def _row_error(row: int, message: str, column: str | None = None) -> UnprocessableEntity:
    where = f"row {row}" + (f", column {column}" if column else "")
    return UnprocessableEntity(
        f"Tariff file refused: {where}: {message}",
        errors=[
            {
                "location": "file",
                "field": f"row {row}" + (f".{column}" if column else ""),
                "message": message,
                "type": "value_error",
            }
        ],
    )


async def read_upload(file: UploadFile, *, limit: int) -> bytes:
    """The upload's bytes, refused (413) beyond ``limit``."""
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit} bytes.")
    if not content:
        raise UnprocessableEntity(
            "The file is empty.",
            errors=[{"location": "body", "field": "file", "message": "is empty", "type": "value_error"}],
        )
    return content


def _is_xlsx(name: str, content_type: str, content: bytes) -> bool:
    return content.startswith(b"PK\x03\x04") and (
        name.lower().endswith(".xlsx") or content_type == XLSX_TYPE or not name
    )


def parse(name: str, content_type: str, content: bytes) -> tuple[str, dict[str, Any]]:
    """(``csv`` | ``xlsx``, the tariff document) from a file; 415 when it is neither."""
    if _is_xlsx(name, content_type, content):
        return "xlsx", _document(_xlsx_rows(content))
    lowered = name.lower()
    if (
        content.startswith(b"PK")
        or b"\x00" in content
        or not (lowered.endswith(".csv") or content_type.startswith("text/") or not lowered)
    ):
        raise UnsupportedMediaType("Upload a CSV (.csv) or Excel workbook (.xlsx) tariff file.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedMediaType("A CSV tariff file must be UTF-8 text.") from None
    return "csv", _document(_csv_rows(text))


def _csv_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise _row_error(1, f"not readable as CSV ({exc})") from None
    return _records(rows)


def _xlsx_rows(content: bytes) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook  # imported on use: only tariff imports need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged workbook
        raise UnsupportedMediaType("The file is not a readable Excel workbook (.xlsx).") from None
    try:
        sheet = workbook.worksheets[0]
        rows = [
            ["" if v is None else str(v) for v in row]
            for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 2)
        ]
    finally:
        workbook.close()
    return _records(rows)


def _records(rows: list[list[str]]) -> list[tuple[int, dict[str, str]]]:
    if not rows:
        raise _row_error(1, "the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("section", "item", "value") if c not in header]
    if missing:
        raise _row_error(
            1, f"the header lacks the column(s) {', '.join(missing)} (expected {', '.join(COLUMNS)})"
        )
    if len(rows) > MAX_ROWS + 1:
        raise _row_error(MAX_ROWS + 2, f"more than {MAX_ROWS} rows")
    out = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        record = {
            col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(header) if col in COLUMNS
        }
        if any("\x00" in v for v in record.values()):
            raise _row_error(number, "contains a NUL character")
        out.append((number, record))
    return out


def _decimal(row: int, column: str, value: str) -> str:
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise _row_error(row, f"{value!r} is not a number", column) from None
    if not number.is_finite():
        raise _row_error(row, f"{value!r} is not a finite number", column)
    return value


def _whole(value: str) -> Any:
    """A whole number written in a cell (\"3\") as the number; anything else as written, for the
    definition's validation to refuse with the reason."""
    text = value.strip()
    return int(text) if text.isdigit() else value


def _scalar(value: str) -> Any:
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    return value


def _document(rows: Iterable[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "zones": {},
        "cover_levels": [],
        "factors": [],
        "adjustments": [],
        "eligibility": [],
    }
    covers: dict[str, dict[str, Any]] = {}
    factors: dict[str, dict[str, Any]] = {}
    band_rows: dict[str, list[int]] = {}
    adjustments: dict[str, dict[str, Any]] = {}
    commission = ["0", "0"]
    for number, r in rows:
        section, item, field, op, value = (
            r.get("section", ""),
            r.get("item", ""),
            r.get("field", ""),
            r.get("op", ""),
            r.get("value", ""),
        )
        if not item:
            raise _row_error(number, "item is empty", "item")
        if section == "tariff":
            if item == "commission_min":
                commission[0] = _decimal(number, "value", value)
            elif item == "commission_max":
                commission[1] = _decimal(number, "value", value)
            elif item == "illustrative":
                doc[item] = value.lower() == "true"
            elif value != "":
                doc[item] = value
        elif section == "zone":
            doc["zones"][item] = value
        elif section in ("cover", "cover_limit", "base_rate"):
            cover = covers.setdefault(item, {"code": item, "limits": {}, "base_rates": {}, "eligibility": []})
            if section == "cover":
                if field == "covers":
                    cover[field] = value.split()
                else:
                    cover[field] = _whole(value) if field == "rank" else value
            elif section == "cover_limit":
                cover["limits"][field] = _decimal(number, "value", value)
            else:
                cover["base_rates"][field] = _decimal(number, "value", value)
        elif section == "factor":
            factors.setdefault(item, {"name": item, "bands": [], "categories": []}).update(
                {
                    "input": field,
                    "mode": op or "multiplicative",
                    **({"description": r["text"]} if r.get("text") else {}),
                }
            )
        elif section == "band":
            if item not in factors:
                raise _row_error(
                    number, f"band of undeclared factor table {item!r} (declare it first)", "item"
                )
            factors[item]["bands"].append(
                {
                    "from": _decimal(number, "from", r.get("from", "")),
                    "to": _decimal(number, "to", r["to"]) if r.get("to") else None,
                    "value": _decimal(number, "value", value),
                }
            )
            band_rows.setdefault(item, []).append(number)
        elif section == "category":
            if item not in factors:
                raise _row_error(
                    number, f"category of undeclared factor table {item!r} (declare it first)", "item"
                )
            factors[item]["categories"].append(
                {"match": _scalar(field), "value": _decimal(number, "value", value)}
            )
        elif section == "adjustment":
            adjustments[item] = {
                "code": item,
                "kind": field,
                op or "percent": _decimal(number, "value", value),
                "when": [],
                **({"description": r["text"]} if r.get("text") else {}),
            }
        elif section == "condition":
            if item not in adjustments:
                raise _row_error(
                    number, f"condition of undeclared adjustment {item!r} (declare it first)", "item"
                )
            adjustments[item]["when"].append(_condition(field, op, value))
        elif section == "eligibility":
            rule = {**_condition(field, op, value), "reason": r.get("text") or f"{field} {op} {value}"}
            if item == "*":
                doc["eligibility"].append(rule)
            else:
                covers.setdefault(item, {"code": item, "limits": {}, "base_rates": {}, "eligibility": []})[
                    "eligibility"
                ].append(rule)
        else:
            raise _row_error(number, f"unknown section {section!r}", "section")
    _check_file_bands(factors, band_rows)
    doc["commission_band"] = commission
    doc["cover_levels"] = list(covers.values())
    doc["factors"] = [{k: v for k, v in f.items() if v != []} for f in factors.values()]
    doc["adjustments"] = list(adjustments.values())
    return doc


def _condition(field: str, op: str, value: str) -> dict[str, Any]:
    op = op or "eq"
    parsed: Any = [_scalar(v) for v in value.split("|")] if op in ("in", "not_in") else _scalar(value)
    return {"field": field, "op": op, "value": parsed}


def _check_file_bands(factors: dict[str, dict[str, Any]], band_rows: dict[str, list[int]]) -> None:
    """Name the file's rows when two bands of a table overlap or leave a gap."""
    for name, rows in band_rows.items():
        bands = factors[name]["bands"]
        for i in range(1, len(bands)):
            prev, cur = bands[i - 1], bands[i]
            upper = None if prev["to"] is None else Decimal(prev["to"])
            lower = Decimal(cur["from"])
            if upper is None or lower < upper:
                raise _row_error(
                    rows[i],
                    f"band [{cur['from']}, {cur['to'] or '∞'}) of {name!r} overlaps the band "
                    f"on row {rows[i - 1]}",
                )
            if lower > upper:
                raise _row_error(
                    rows[i],
                    f"gap in {name!r}: no band covers [{prev['to']}, {cur['from']}) "
                    f"between rows {rows[i - 1]} and {rows[i]}",
                )


def rows_of(definition: TariffDefinition) -> list[list[str]]:
    """The file layout of a tariff (header first)."""
    d = definition
    out: list[list[str]] = [list(COLUMNS)]

    def add(
        section: str,
        item: str,
        field: str = "",
        op: str = "",
        lo: str = "",
        hi: str = "",
        value: Any = "",
        text: str = "",
    ) -> None:
        out.append([section, item, field, op, lo, hi, "" if value is None else _cell(value), text])

    for key in (
        "product_code",
        "carrier",
        "product_name",
        "line",
        "effective_from",
        "effective_to",
        "base_mode",
        "base_field",
        "default_zone",
        "minimum_premium",
        "maximum_premium",
    ):
        value = getattr(d, key)
        if value is not None:
            add("tariff", key, value=value)
    add("tariff", "commission_min", value=d.commission_band[0])
    add("tariff", "commission_max", value=d.commission_band[1])
    add("tariff", "illustrative", value=d.illustrative)
    if d.notes:
        add("tariff", "notes", value=d.notes)
    for prefix, zone in d.zones.items():
        add("zone", prefix, value=zone)
    for c in d.cover_levels:
        add("cover", c.code, "name", value=c.name)
        add("cover", c.code, "rank", value=c.rank)
        add("cover", c.code, "covers", value=" ".join(c.covers))
        add("cover", c.code, "deductible", value=c.deductible)
        add("cover", c.code, "compulsory_rc_share", value=c.compulsory_rc_share)
        for k, v in c.limits.items():
            add("cover_limit", c.code, k, value=v)
        for k, v in c.base_rates.items():
            add("base_rate", c.code, k, value=v)
        for rule in c.eligibility:
            add("eligibility", c.code, rule.field, rule.op, value=_cond_value(rule.value), text=rule.reason)
    for rule in d.eligibility:
        add("eligibility", "*", rule.field, rule.op, value=_cond_value(rule.value), text=rule.reason)
    for f in d.factors:
        add("factor", f.name, f.input, f.mode, text=f.description or "")
        for b in f.bands:
            add("band", f.name, lo=str(b.lower), hi="" if b.upper is None else str(b.upper), value=b.value)
        for cat in f.categories:
            add("category", f.name, _cell(cat.match), value=cat.value)
    for a in d.adjustments:
        add(
            "adjustment",
            a.code,
            a.kind,
            "percent" if a.percent is not None else "amount",
            value=a.percent if a.percent is not None else a.amount,
            text=a.description or "",
        )
        for cond in a.when:
            add("condition", a.code, cond.field, cond.op, value=_cond_value(cond.value))
    return out


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cond_value(value: Any) -> str:
    return "|".join(_cell(v) for v in value) if isinstance(value, list) else _cell(value)


def export(definition: TariffDefinition, fmt: str) -> tuple[bytes, str]:
    """The tariff as a CSV or XLSX file (bytes, media type)."""
    rows = rows_of(definition)
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.title = "tariff"
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue(), XLSX_TYPE
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode(), "text/csv; charset=utf-8"
