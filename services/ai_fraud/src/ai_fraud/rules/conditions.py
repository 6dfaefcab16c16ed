"""The rule condition language: a small JSON tree, parsed and type-checked, never ``eval``'d.

    {"feature": "days_since_policy_start", "op": "lte", "value": 30}
    {"all": [<condition>, ...]}   {"any": [<condition>, ...]}   {"not": <condition>}

Features come from the catalogue (``core/features.py``); an operator must suit the feature's type
(``lt``/``lte``/``gt``/``gte`` on numbers, ``eq``/``ne`` on all, ``in``/``not_in`` on numbers and
strings, ``is_null``/``not_null`` on all) and the value must be of that type. An unknown fact
(``None``) satisfies only ``is_null``. Depth and size are bounded, so a rule costs microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ai_fraud.core.features import FEATURES, FeatureVector

MAX_DEPTH = 6
MAX_NODES = 60
MAX_LIST = 50
OPERATORS = {
    "number": {"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "is_null", "not_null"},
    "bool": {"eq", "ne", "is_null", "not_null"},
    "string": {"eq", "ne", "in", "not_in", "is_null", "not_null"},
}


class ConditionError(ValueError):
    """Why a condition is refused, with where in the tree (``all[1].value``)."""


@dataclass(frozen=True)
class Compare:
    feature: str
    op: str
    value: Any


@dataclass(frozen=True)
class Group:
    kind: str  # all | any
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Negation:
    item: Node


Node = Compare | Group | Negation


def parse(raw: Any) -> Node:
    """The parsed condition; ConditionError with the reason when it is not valid."""
    count = [0]
    return _parse(raw, "condition", 1, count)


def _parse(raw: Any, path: str, depth: int, count: list[int]) -> Node:
    count[0] += 1
    if depth > MAX_DEPTH:
        raise ConditionError(f"{path}: nested deeper than {MAX_DEPTH} levels")
    if count[0] > MAX_NODES:
        raise ConditionError(f"condition has more than {MAX_NODES} parts")
    if not isinstance(raw, dict):
        raise ConditionError(f"{path}: must be an object")
    keys = set(raw)
    if keys in ({"all"}, {"any"}):
        kind = next(iter(keys))
        items = raw[kind]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{path}.{kind}: must be a non-empty list of conditions")
        if len(items) > MAX_LIST:
            raise ConditionError(f"{path}.{kind}: at most {MAX_LIST} conditions")
        return Group(
            kind, tuple(_parse(x, f"{path}.{kind}[{i}]", depth + 1, count) for i, x in enumerate(items))
        )
    if keys == {"not"}:
        return Negation(_parse(raw["not"], f"{path}.not", depth + 1, count))
    if "feature" in keys:
        return _compare(raw, path)
    raise ConditionError(
        f"{path}: expected {{'feature', 'op', 'value'}}, {{'all': [...]}}, {{'any': [...]}} or {{'not': ...}}"
        f", got keys {sorted(keys)}"
    )


def _compare(raw: dict[str, Any], path: str) -> Compare:
    extra = set(raw) - {"feature", "op", "value"}
    if extra:
        raise ConditionError(f"{path}: unknown key(s) {sorted(extra)}")
    name = raw["feature"]
    if not isinstance(name, str) or name not in FEATURES:
        raise ConditionError(
            f"{path}.feature: unknown feature {name!r}; known: {', '.join(sorted(FEATURES))}"
        )
    ftype = FEATURES[name].type
    op = raw.get("op")
    if op not in OPERATORS[ftype]:
        raise ConditionError(
            f"{path}.op: {op!r} does not apply to {ftype} feature {name!r}; use one of "
            f"{', '.join(sorted(OPERATORS[ftype]))}"
        )
    if op in ("is_null", "not_null"):
        if raw.get("value") is not None:
            raise ConditionError(f"{path}.value: {op} takes no value")
        return Compare(name, op, None)
    if "value" not in raw:
        raise ConditionError(f"{path}.value: {op} needs a value")
    value = raw["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise ConditionError(f"{path}.value: {op} needs a list of 1 to {MAX_LIST} values")
        return Compare(name, op, tuple(_typed(v, ftype, f"{path}.value[{i}]") for i, v in enumerate(value)))
    return Compare(name, op, _typed(value, ftype, f"{path}.value"))


def _typed(value: Any, ftype: str, path: str) -> Any:
    if ftype == "bool":
        if not isinstance(value, bool):
            raise ConditionError(f"{path}: must be true or false")
        return value
    if ftype == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(f"{path}: must be a number")
        if value != value or abs(value) > 1e12:
            raise ConditionError(f"{path}: must be a finite number")
        return float(value)
    if not isinstance(value, str) or not value or len(value) > 100 or "\x00" in value:
        raise ConditionError(f"{path}: must be a text of 1 to 100 characters")
    return value


def evaluate(node: Node, features: FeatureVector) -> bool:
    """Whether the claim's features satisfy the condition."""
    if isinstance(node, Group):
        results = (evaluate(item, features) for item in node.items)
        return all(results) if node.kind == "all" else any(results)
    if isinstance(node, Negation):
        return not evaluate(node.item, features)
    actual = features.get(node.feature)
    if node.op == "is_null":
        return actual is None
    if node.op == "not_null":
        return actual is not None
    if actual is None:
        return False
    op, value = node.op, node.value
    if op == "eq":
        return bool(actual == value)
    if op == "ne":
        return bool(actual != value)
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    number = float(actual)
    if op == "lt":
        return number < value
    if op == "lte":
        return number <= value
    if op == "gt":
        return number > value
    return number >= value


def features_used(node: Node) -> set[str]:
    if isinstance(node, Group):
        return set().union(*(features_used(i) for i in node.items))
    if isinstance(node, Negation):
        return features_used(node.item)
    return {node.feature}
