"""The rating engine: a tariff version, a cover level and a risk in, an explained premium out.

Pure (no I/O, no clock): the same tariff, taxes, risk and date always give the same result. Every
step is one explanation line whose amount is rounded to the cent (half up) and added to a running
total, so the lines sum to the total exactly by construction:

1. base rate of the risk's zone (per cover level; fixed, or per mille of a capital field)
2. each factor table in order: the matching row's factor (× running) or amount (+)
3. each discount (−) and surcharge (+) whose conditions hold, on the running premium
4. minimum premium (raise) and cap (lower) -> the net premium
5. each receipt tax in force on the date for the line -> the total
"""

from __future__ import annotations

import operator
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NoReturn

from quote_engine.rating.tariff import (
    Condition,
    CoverLevel,
    EligibilityRule,
    FactorTable,
    ReceiptTax,
    TariffDefinition,
)

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)
Value = Decimal | bool | str
Risk = Mapping[str, Value]


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


class RatingError(ValueError):
    """The request cannot be rated at all (unknown cover level, missing risk field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Line:
    """One step of the explanation (never changed once made: not frozen only because a frozen
    dataclass sets each field through ``object.__setattr__``, and an explained comparison makes
    ~1,000 of them)."""

    step: int
    kind: str  # base | factor | discount | surcharge | minimum | cap | tax
    table: str
    row: str
    input: str | None
    factor: Decimal | None
    amount: Decimal
    running_total: Decimal
    note: str | None = None


@dataclass
class TaxLine:  # never changed once made (as Line)
    code: str
    name: str
    base: Decimal
    amount: Decimal
    legal_reference: str


@dataclass(frozen=True)
class Priced:
    net_premium: Decimal
    compulsory_rc_premium: Decimal
    taxes: tuple[TaxLine, ...]
    total: Decimal
    lines: tuple[Line, ...]
    zone: str


@dataclass(frozen=True)
class Ineligible:
    reasons: tuple[str, ...]


@dataclass
class _Ledger:
    """The running total, and each step's explanation line when ``explain`` (the total is the same
    either way: a line only records the amount already added)."""

    explain: bool = True
    lines: list[Line] = field(default_factory=list)
    running: Decimal = Decimal("0.00")

    def add(
        self,
        kind: str,
        table: str,
        row: str,
        amount: Decimal,
        *,
        input_: Value | None = None,
        factor: Decimal | None = None,
        note: str | None = None,
    ) -> None:
        amount = cents(amount)
        self.running += amount
        if not self.explain:
            return
        self.lines.append(
            Line(
                step=len(self.lines) + 1,
                kind=kind,
                table=table,
                row=row,
                input=None if input_ is None else _text(input_),
                factor=factor,
                amount=amount,
                running_total=self.running,
                note=note,
            )
        )


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Value, field_: str) -> Decimal:
    if isinstance(value, bool):
        raise RatingError(field_, "must be a number, not a boolean")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RatingError(field_, f"must be a number (got {value!r})") from None
    if not number.is_finite():
        raise RatingError(field_, "must be a finite number")
    return number


_ORDERED = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


def _compare(actual: Value, op: str, expected: Value) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
        return same if op == "eq" else (not same if op == "ne" else False)
    if isinstance(expected, Decimal) or (isinstance(actual, Decimal) and op in ("lt", "le", "gt", "ge")):
        try:  # a Decimal is compared as it is (the same value as Decimal(str(it)))
            a = actual if type(actual) is Decimal else Decimal(str(actual))
            b = expected if type(expected) is Decimal else Decimal(str(expected))
        except InvalidOperation:
            return False
        if a.is_nan() or b.is_nan():  # ordering a NaN raises InvalidOperation, whatever the op
            raise InvalidOperation(f"cannot order {a} and {b}")
        compare = _ORDERED.get(op)
        return False if compare is None else bool(compare(a, b))
    if op == "eq":
        return str(actual).lower() == str(expected).lower()
    if op == "ne":
        return str(actual).lower() != str(expected).lower()
    return False


def holds(condition: Condition, risk: Risk) -> bool:
    """Whether ``risk`` satisfies ``condition`` (a missing field never satisfies one)."""
    if condition.field not in risk:
        return False
    actual = risk[condition.field]
    if condition.op in ("in", "not_in"):
        options = condition.value if isinstance(condition.value, list) else [condition.value]
        inside = any(_compare(actual, "eq", option) for option in options)
        return inside if condition.op == "in" else not inside
    if isinstance(condition.value, list):
        return False
    return _compare(actual, condition.op, condition.value)


def _describe(rule: EligibilityRule, risk: Risk) -> str:
    got = _text(risk[rule.field]) if rule.field in risk else "missing"
    return f"{rule.reason} ({rule.field} = {got})"


def eligibility(tariff: TariffDefinition, cover_code: str, risk: Risk) -> list[str]:
    """The reasons the risk is refused (empty: eligible)."""
    cover = tariff.cover(cover_code)
    if cover is None:
        raise RatingError("cover_level", f"product {tariff.product_code!r} has no cover level {cover_code!r}")
    return [_describe(r, risk) for r in (*tariff.eligibility, *cover.eligibility) if not holds(r, risk)]


def zone_of(tariff: TariffDefinition, risk: Risk) -> str:
    postal = str(risk.get("postal_code", ""))
    for length in (5, 4, 3, 2, 1):
        zone = tariff.zones.get(postal[:length]) if len(postal) >= length else None
        if zone is not None:
            return zone
    return tariff.default_zone


def _row(table: FactorTable, risk: Risk) -> tuple[str, Decimal, Value] | None:
    """The row of ``table`` the risk falls in: (label, factor or amount, input), or None."""
    if table.input not in risk:
        raise RatingError(f"risk.{table.input}", f"is required by factor table {table.name!r}")
    return _compiled(table).row(risk[table.input])


class _Table:
    """A factor table compiled once per process for one-row lookups, with the same answers as
    reading its rows in order: bands by bisection over their lower edges when they are in order and
    do not overlap (then at most one contains a value; otherwise the rows are read in order),
    categories by their folded text or boolean; each row's label computed once."""

    __slots__ = ("bands", "by_bool", "by_text", "field", "lowers", "table")

    def __init__(self, table: FactorTable) -> None:
        self.table = table
        self.field = f"risk.{table.input}"
        ordered = all(
            a.upper is not None and a.upper <= b.lower
            for a, b in zip(table.bands, table.bands[1:], strict=False)
        )
        self.bands = [(b.lower, b.upper, b.label(), b.value) for b in table.bands]
        self.lowers = [b.lower for b in table.bands] if ordered else None
        self.by_text: dict[str, tuple[str, Decimal]] = {}
        self.by_bool: dict[bool, tuple[str, Decimal]] = {}
        for category in table.categories:  # the first row of a match wins, as read in order
            if isinstance(category.match, bool):
                self.by_bool.setdefault(category.match, (category.label(), category.value))
            else:
                self.by_text.setdefault(category.match.lower(), (category.label(), category.value))

    def row(self, value: Value) -> tuple[str, Decimal, Value] | None:
        if self.bands:
            x = value if type(value) is Decimal and value.is_finite() else _number(value, self.field)
            if self.lowers is not None:
                i = bisect_right(self.lowers, x) - 1
                candidates = self.bands[i : i + 1] if i >= 0 else []
            else:
                candidates = self.bands
            for lower, upper, label, factor in candidates:
                if lower <= x and (upper is None or x < upper):
                    return label, factor, value
            return None
        found = self.by_bool.get(value) if isinstance(value, bool) else self.by_text.get(str(value).lower())
        return None if found is None else (found[0], found[1], value)


_TABLES: dict[int, _Table] = {}  # by id() of the (immutable) table it was compiled from
_TABLES_LIMIT = 8192


def _compiled(table: FactorTable) -> _Table:
    found = _TABLES.get(id(table))
    if found is None or found.table is not table:
        if len(_TABLES) >= _TABLES_LIMIT:
            _TABLES.clear()
        found = _TABLES[id(table)] = _Table(table)
    return found


@dataclass(frozen=True)
class _Failure:
    """A :class:`RatingError` met while matching, raised again where rating would have met it."""

    field: str
    message: str

    def raise_(self) -> NoReturn:
        raise RatingError(self.field, self.message)


@dataclass
class _Match:
    """What a risk matches in a tariff whatever the cover level: computed once per product.

    Factor rows are matched in the tariff's order and stop at the first table without a row (or
    that raises), exactly where rating a cover level stops; a missing field is kept as a
    :class:`_Failure` and raised only when a cover level gets that far, so every cover level
    answers as if rated alone (an ineligible cover level never reports a missing field).
    """

    reasons: list[str]  # the tariff's own eligibility rules that fail
    zone: str
    capital: Decimal | _Failure | None  # per-mille base: the capital field, as a number
    rows: list[tuple[str, Decimal, Value] | _Failure | None]
    adjustments: list[str | bool | None]  # False: the conditions do not hold; else the input text


def _match(tariff: TariffDefinition, risk: Risk) -> _Match:
    reasons = [_describe(r, risk) for r in tariff.eligibility if not holds(r, risk)]
    capital: Decimal | _Failure | None = None
    if tariff.base_mode == "per_mille":
        assert tariff.base_field is not None
        if tariff.base_field not in risk:
            capital = _Failure(f"risk.{tariff.base_field}", "is required by this product's base rate")
        else:
            try:
                capital = _number(risk[tariff.base_field], f"risk.{tariff.base_field}")
            except RatingError as exc:
                capital = _Failure(exc.field, exc.message)
    rows: list[tuple[str, Decimal, Value] | _Failure | None] = []
    for table in tariff.factors:
        try:
            row = _row(table, risk)
        except RatingError as exc:
            rows.append(_Failure(exc.field, exc.message))
            break
        rows.append(row)
        if row is None:
            break
    adjustments: list[str | bool | None] = [
        (", ".join(f"{c.field}={_text(risk[c.field])}" for c in adjustment.when) or None)
        if all(holds(c, risk) for c in adjustment.when)
        else False
        for adjustment in tariff.adjustments
    ]
    return _Match(reasons, zone_of(tariff, risk), capital, rows, adjustments)


def rate(
    tariff: TariffDefinition,
    cover_code: str,
    risk: Risk,
    *,
    taxes: Sequence[ReceiptTax],
    on: date,
    explain: bool = True,
) -> Priced | Ineligible:
    """Price ``risk`` under ``tariff``'s ``cover_code`` with the receipt taxes in force ``on``;
    without ``explain`` the result has no explanation lines (and the same figures)."""
    in_force = _in_force(taxes, tariff.line, on)
    return _rate(tariff, cover_code, risk, _match(tariff, risk), in_force, explain=explain)


def rate_covers(
    tariff: TariffDefinition,
    cover_codes: Sequence[str],
    risk: Risk,
    *,
    taxes: Sequence[ReceiptTax],
    on: date,
    explain: bool = True,
) -> list[Priced | Ineligible]:
    """:func:`rate` for each of ``cover_codes`` in turn (same results, same errors in the same
    order), matching the risk against the product's tables once for all of them."""
    matched = _match(tariff, risk)
    in_force = _in_force(taxes, tariff.line, on)
    return [_rate(tariff, code, risk, matched, in_force, explain=explain) for code in cover_codes]


def _in_force(taxes: Sequence[ReceiptTax], line: str, on: date) -> list[ReceiptTax]:
    """The receipt taxes in force ``on`` for ``line``, in their order (once per product and date)."""
    return [tax for tax in taxes if tax.applies(line, on)]


_COVERS: dict[int, tuple[TariffDefinition, dict[str, CoverLevel]]] = {}  # by id() of the tariff
_COVERS_LIMIT = 4096


def _cover(tariff: TariffDefinition, code: str) -> CoverLevel | None:
    """``tariff.cover(code)`` from a table made once per tariff (the first level of a code wins)."""
    found = _COVERS.get(id(tariff))
    if found is None or found[0] is not tariff:
        if len(_COVERS) >= _COVERS_LIMIT:
            _COVERS.clear()
        levels: dict[str, CoverLevel] = {}
        for level in tariff.cover_levels:
            levels.setdefault(level.code, level)
        found = _COVERS[id(tariff)] = (tariff, levels)
    return found[1].get(code)


def _rate(
    tariff: TariffDefinition,
    cover_code: str,
    risk: Risk,
    matched: _Match,
    in_force: list[ReceiptTax],
    *,
    explain: bool,
) -> Priced | Ineligible:
    cover = _cover(tariff, cover_code)
    if cover is None:
        raise RatingError("cover_level", f"product {tariff.product_code!r} has no cover level {cover_code!r}")
    reasons = [*matched.reasons, *(_describe(r, risk) for r in cover.eligibility if not holds(r, risk))]
    if reasons:
        return Ineligible(tuple(reasons))
    if not explain:
        return _figures(tariff, cover, risk, matched, in_force)
    ledger = _Ledger(explain)

    zone = matched.zone
    base_rate = cover.base_rates.get(zone, cover.base_rates.get("*"))
    assert base_rate is not None  # every zone has a base rate (validated at import)
    if tariff.base_mode == "per_mille":
        capital = matched.capital
        if isinstance(capital, _Failure):
            capital.raise_()
        assert capital is not None
        ledger.add(
            "base",
            "base_rates",
            f"{cover.code}/{zone}",
            capital * base_rate / THOUSAND,
            input_=capital,
            factor=base_rate,
            note=f"{base_rate}‰ of {tariff.base_field}",
        )
    else:
        ledger.add(
            "base",
            "base_rates",
            f"{cover.code}/{zone}",
            base_rate,
            input_=risk.get("postal_code"),
            factor=None,
        )

    for table, row in zip(tariff.factors, matched.rows, strict=False):
        if isinstance(row, _Failure):
            row.raise_()
        if row is None:
            return Ineligible(
                (f"no row of factor table {table.name!r} covers {table.input} = {_text(risk[table.input])}",)
            )
        label, value, got = row
        if table.mode == "multiplicative":
            ledger.add(
                "factor",
                table.name,
                label,
                cents(ledger.running * value) - ledger.running,
                input_=got,
                factor=value,
            )
        else:
            ledger.add("factor", table.name, label, value, input_=got, factor=value)

    for adjustment, shown in zip(tariff.adjustments, matched.adjustments, strict=True):
        if shown is False:
            continue
        size = (
            cents(ledger.running * adjustment.percent / HUNDRED)
            if adjustment.percent is not None
            else cents(adjustment.amount or Decimal(0))
        )
        if adjustment.kind == "discount":
            size = -min(size, max(ledger.running, Decimal(0)))
        ledger.add(
            adjustment.kind,
            "adjustments",
            adjustment.code,
            size,
            input_=shown or None,
            factor=adjustment.percent,
            note=adjustment.description,
        )

    if ledger.running < tariff.minimum_premium:
        ledger.add("minimum", "minimum_premium", "minimum", tariff.minimum_premium - ledger.running)
    if tariff.maximum_premium is not None and ledger.running > tariff.maximum_premium:
        ledger.add("cap", "maximum_premium", "cap", tariff.maximum_premium - ledger.running)
    net = ledger.running
    compulsory = cents(net * cover.compulsory_rc_share)

    tax_lines: list[TaxLine] = []
    for tax in in_force:
        base, amount, factor = _tax(tax, net, compulsory, risk)
        if amount is None:
            continue
        ledger.add(
            "tax", "receipt_taxes", tax.code, amount, input_=base, factor=factor, note=tax.legal_reference
        )
        tax_lines.append(TaxLine(tax.code, tax.name, base, cents(amount), tax.legal_reference))
    return Priced(
        net_premium=net,
        compulsory_rc_premium=compulsory,
        taxes=tuple(tax_lines),
        total=ledger.running,
        lines=tuple(ledger.lines),
        zone=zone,
    )


def _figures(
    tariff: TariffDefinition, cover: CoverLevel, risk: Risk, matched: _Match, in_force: list[ReceiptTax]
) -> Priced | Ineligible:
    """:func:`_rate` without explanation lines: the same steps, the same rounding of each step's
    amount and the same running sum (so the same figures to the last digit), without forming a
    line, its label or its note for any of them."""
    quantize = Decimal.quantize
    zone = matched.zone
    base_rate = cover.base_rates.get(zone, cover.base_rates.get("*"))
    assert base_rate is not None  # every zone has a base rate (validated at import)
    running = Decimal("0.00")
    if tariff.base_mode == "per_mille":
        capital = matched.capital
        if isinstance(capital, _Failure):
            capital.raise_()
        assert capital is not None
        running += quantize(capital * base_rate / THOUSAND, CENT, ROUND_HALF_UP)
    else:
        running += quantize(base_rate, CENT, ROUND_HALF_UP)

    for table, row in zip(tariff.factors, matched.rows, strict=False):
        if isinstance(row, _Failure):
            row.raise_()
        if row is None:
            return Ineligible(
                (f"no row of factor table {table.name!r} covers {table.input} = {_text(risk[table.input])}",)
            )
        value = row[1]
        if table.mode == "multiplicative":
            step = quantize(running * value, CENT, ROUND_HALF_UP) - running
        else:
            step = value
        running += quantize(step, CENT, ROUND_HALF_UP)

    for adjustment, shown in zip(tariff.adjustments, matched.adjustments, strict=True):
        if shown is False:
            continue
        size = (
            cents(running * adjustment.percent / HUNDRED)
            if adjustment.percent is not None
            else cents(adjustment.amount or Decimal(0))
        )
        if adjustment.kind == "discount":
            size = -min(size, max(running, Decimal(0)))
        running += quantize(size, CENT, ROUND_HALF_UP)

    if running < tariff.minimum_premium:
        running += quantize(tariff.minimum_premium - running, CENT, ROUND_HALF_UP)
    if tariff.maximum_premium is not None and running > tariff.maximum_premium:
        running += quantize(tariff.maximum_premium - running, CENT, ROUND_HALF_UP)
    net = running
    compulsory = cents(net * cover.compulsory_rc_share)

    tax_lines: list[TaxLine] = []
    for tax in in_force:
        base, amount, _factor = _tax(tax, net, compulsory, risk)
        if amount is None:
            continue
        rounded = quantize(amount, CENT, ROUND_HALF_UP)
        running += rounded
        tax_lines.append(TaxLine(tax.code, tax.name, base, rounded, tax.legal_reference))
    return Priced(
        net_premium=net,
        compulsory_rc_premium=compulsory,
        taxes=tuple(tax_lines),
        total=running,
        lines=(),
        zone=zone,
    )


def _tax(
    tax: ReceiptTax, net: Decimal, compulsory: Decimal, risk: Risk
) -> tuple[Decimal, Decimal | None, Decimal | None]:
    rate_ = tax.rate or Decimal(0)
    if tax.kind == "percent_of_net":
        return net, net * rate_ / HUNDRED, rate_
    if tax.kind == "percent_of_compulsory_rc":
        return compulsory, compulsory * rate_ / HUNDRED, rate_
    if tax.kind == "fixed_per_vehicle":
        vehicle = str(risk.get("vehicle_type", "car")).lower()
        amount = tax.amounts.get(vehicle, tax.amounts.get("*"))
        return Decimal(1), amount, amount
    field_ = tax.capital_field or "capital"
    if field_ not in risk:
        raise RatingError(f"risk.{field_}", f"is required by receipt tax {tax.code!r}")
    capital = _number(risk[field_], f"risk.{field_}")
    return capital, capital * rate_ / THOUSAND, rate_
