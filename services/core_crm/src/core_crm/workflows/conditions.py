"""Declarative conditions over event or trigger data: a list of {path, op, value}, all must hold.

Never evaluated as code: a path is dotted keys into the data, an operator is one of a fixed set.
Numbers given as strings (money in events is "612.40") compare as decimals.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists")
_MISSING = object()


def resolve(data: Any, path: str) -> Any:
    """The value at a dotted ``path`` (list items by index), or a sentinel when absent."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return _MISSING
    return current


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _compare(left: Any, right: Any) -> int | None:
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    if isinstance(left, str) and isinstance(right, str):
        return (left > right) - (left < right)
    return None


def holds(condition: dict[str, Any], data: Any) -> bool:
    """Whether one condition holds for ``data``."""
    op, value = condition["op"], condition.get("value")
    actual = resolve(data, condition["path"])
    if op == "exists":
        return (actual is not _MISSING and actual is not None) == (value is not False)
    if actual is _MISSING:
        return False
    if op in ("eq", "ne"):
        order = _compare(actual, value)
        equal = order == 0 if order is not None else actual == value
        return equal if op == "eq" else not equal
    if op == "in":
        return isinstance(value, list) and any(_compare(actual, v) == 0 or actual == v for v in value)
    if op == "contains":
        if isinstance(actual, str) and isinstance(value, str):
            return value.casefold() in actual.casefold()
        return isinstance(actual, list) and value in actual
    order = _compare(actual, value)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]


def all_hold(conditions: list[dict[str, Any]], data: Any) -> bool:
    return all(holds(c, data) for c in conditions)
