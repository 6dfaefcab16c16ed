"""A tariff as data: the document one version of a carrier product is made of, validated.

Pure module (pydantic only, no I/O). A tariff version names its product (carrier, line), its
validity, its cover levels (limits, deductible, base rates by zone), banded factor tables,
discounts and surcharges with conditions, a minimum premium and an optional cap. Receipt taxes are
separate rows (:class:`ReceiptTax`) because they are law, not the carrier's tariff.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from aintech_shared.instants import Day
from aintech_shared.jsontypes import JsonInt

Line = Literal["auto", "home", "life", "health", "business"]
LINES: tuple[str, ...] = ("auto", "home", "life", "health", "business")

Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), max_digits=14, decimal_places=4)]
Limit = Annotated[Decimal, Field(ge=0, le=Decimal("1000000000"), max_digits=16, decimal_places=2)]
Factor = Annotated[
    Decimal, Field(ge=Decimal("-100000"), le=Decimal("100000"), max_digits=14, decimal_places=6)
]
Scalar = Decimal | StrictBool | str

# Fields that name a person's sex (in English or Spanish). Since the CJEU's Test-Achats judgment
# (C-236/09, 1 March 2011; in force for new contracts from 21 December 2012) sex may not be a
# rating factor in the EU: a tariff that reads one is refused at import.
SEX_FIELDS = frozenset({"sex", "gender", "sexo", "genero", "género", "is_male", "is_female"})
TEST_ACHATS_REASON = (
    "sex is not a permitted rating factor: the CJEU's Test-Achats judgment (C-236/09) forbids "
    "sex-based premiums and benefits in the EU for contracts since 21 December 2012"
)


class SexFactorRefused(ValueError):
    """A tariff that reads the insured's sex (refused with the Test-Achats reason)."""

    def __init__(self, where: str) -> None:
        super().__init__(f"{where}: {TEST_ACHATS_REASON}")
        self.where = where


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "in", "not_in"]


class Condition(Frozen):
    """``risk[field] <op> value`` (numbers compare as decimals; ``in`` takes a list)."""

    field: Code
    op: Op = "eq"
    value: Scalar | list[Scalar]


class EligibilityRule(Condition):
    """The risk is eligible only when the condition holds; otherwise ``reason`` is the answer."""

    reason: Name


class Band(Frozen):
    """A numeric band ``[from, to)`` (``to`` null: open above)."""

    lower: Decimal = Field(alias="from")
    upper: Decimal | None = Field(default=None, alias="to")
    value: Factor

    def contains(self, x: Decimal) -> bool:
        return self.lower <= x and (self.upper is None or x < self.upper)

    def label(self) -> str:
        return f"[{self.lower}, {self.upper if self.upper is not None else '∞'})"


class Category(Frozen):
    """A category row: the input equals ``match`` (case-insensitive for text, or a boolean)."""

    match: str | StrictBool
    value: Factor

    def label(self) -> str:
        return str(self.match).lower()


class BandError(ValueError):
    """A gap or overlap between the bands of a factor table (names the rows)."""

    def __init__(self, table: str, rows: tuple[int, int], message: str) -> None:
        super().__init__(f"factor table {table!r}, rows {rows[0]} and {rows[1]}: {message}")
        self.table = table
        self.rows = rows


class FactorTable(Frozen):
    """One rating table: the row the risk falls in gives a factor (×) or an amount (+)."""

    name: Code
    input: Code = Field(description="The risk field the table reads.")
    mode: Literal["multiplicative", "additive"] = "multiplicative"
    bands: tuple[Band, ...] = ()
    categories: tuple[Category, ...] = ()
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _rows(self) -> FactorTable:
        if bool(self.bands) == bool(self.categories):
            raise ValueError(f"factor table {self.name!r}: give either bands or categories")
        seen: set[str] = set()
        for category in self.categories:
            if category.label() in seen:
                raise ValueError(f"factor table {self.name!r}: category {category.label()!r} twice")
            seen.add(category.label())
        if self.mode == "multiplicative" and any(
            v < 0 for v in [b.value for b in self.bands] + [c.value for c in self.categories]
        ):
            raise ValueError(f"factor table {self.name!r}: a multiplicative factor cannot be negative")
        return self


def check_bands(table: str, bands: tuple[Band, ...]) -> None:
    """Bands are given in order, each starting where the previous ended (rows numbered from 1)."""
    for i, band in enumerate(bands, start=1):
        if band.upper is not None and band.upper <= band.lower:
            raise BandError(table, (i, i), f"band {band.label()} is empty")
        if i == 1:
            continue
        previous = bands[i - 2]
        if previous.upper is None or band.lower < previous.upper:
            raise BandError(table, (i - 1, i), f"bands {previous.label()} and {band.label()} overlap")
        if band.lower > previous.upper:
            raise BandError(
                table,
                (i - 1, i),
                f"gap between {previous.label()} and {band.label()}: "
                f"no row covers [{previous.upper}, {band.lower})",
            )


class Adjustment(Frozen):
    """A discount (lowers) or surcharge (raises): a percentage of the running premium or an amount."""

    code: Code
    kind: Literal["discount", "surcharge"]
    percent: Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)] | None = None
    amount: Amount | None = None
    when: tuple[Condition, ...] = ()
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one(self) -> Adjustment:
        if (self.percent is None) == (self.amount is None):
            raise ValueError(f"adjustment {self.code!r}: give exactly one of percent or amount")
        return self


class CoverLevel(Frozen):
    """A cover level of the product (e.g. terceros básico < terceros ampliado < todo riesgo)."""

    code: Code
    name: Name
    rank: JsonInt = Field(ge=0, le=100, description="Higher is broader cover.")
    covers: tuple[Code, ...] = Field(default=(), description="Guarantees included (compared side by side).")
    limits: dict[Code, Limit] = Field(default_factory=dict)
    deductible: Amount = Decimal(0)
    base_rates: dict[Code, Amount] = Field(
        description="Base premium (or per-mille rate of the base field) by zone; `*` for any zone."
    )
    compulsory_rc_share: Annotated[Decimal, Field(ge=0, le=1)] = Field(
        default=Decimal(0), description="Share of the net premium that is compulsory liability (auto)."
    )
    eligibility: tuple[EligibilityRule, ...] = ()


class TariffDefinition(Frozen):
    """One version of one carrier product's tariff."""

    product_code: Code
    carrier: Name
    product_name: Name
    line: Line
    effective_from: Day
    effective_to: Day | None = None
    currency: Literal["EUR"] = "EUR"
    base_mode: Literal["fixed", "per_mille"] = "fixed"
    base_field: Code | None = Field(default=None, description="With `per_mille`: the capital field.")
    zones: dict[str, Code] = Field(default_factory=dict, description="Postal-code prefix -> zone.")
    default_zone: Code = "standard"
    cover_levels: tuple[CoverLevel, ...] = Field(min_length=1)
    factors: tuple[FactorTable, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    eligibility: tuple[EligibilityRule, ...] = ()
    minimum_premium: Amount = Decimal(0)
    maximum_premium: Amount | None = None
    commission_band: tuple[
        Annotated[Decimal, Field(ge=0, le=100)], Annotated[Decimal, Field(ge=0, le=100)]
    ] = Field(
        default=(Decimal(0), Decimal(0)), description="Discount (%) the broker may give from commission."
    )
    illustrative: StrictBool = False
    notes: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _coherent(self) -> TariffDefinition:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        if self.base_mode == "per_mille" and not self.base_field:
            raise ValueError("base_mode per_mille needs base_field")
        if self.maximum_premium is not None and self.maximum_premium < self.minimum_premium:
            raise ValueError("maximum_premium is below minimum_premium")
        for group, items in (
            ("cover level", [c.code for c in self.cover_levels]),
            ("factor table", [f.name for f in self.factors]),
            ("adjustment", [a.code for a in self.adjustments]),
        ):
            dupes = {x for x in items if items.count(x) > 1}
            if dupes:
                raise ValueError(f"{group} {sorted(dupes)[0]!r} appears twice")
        zones = set(self.zones.values()) | {self.default_zone}
        for cover in self.cover_levels:
            missing = zones - set(cover.base_rates) if "*" not in cover.base_rates else set()
            if missing:
                raise ValueError(
                    f"cover level {cover.code!r} has no base rate for zone {sorted(missing)[0]!r}"
                )
        return self

    def cover(self, code: str) -> CoverLevel | None:
        return next((c for c in self.cover_levels if c.code == code), None)


def audit(tariff: TariffDefinition) -> None:
    """The rules a tariff must meet before it is stored: no sex factor, contiguous bands.

    Raises :class:`SexFactorRefused` or :class:`BandError` (both ``ValueError``s naming the place)."""
    refuse_sex(tariff)
    for table in tariff.factors:
        check_bands(table.name, table.bands)


def refuse_sex(tariff: TariffDefinition) -> None:
    """Raise :class:`SexFactorRefused` when any table, condition or rule reads the insured's sex."""
    places: list[tuple[str, str]] = [(f"factor table {f.name!r}", f.input) for f in tariff.factors]
    places += [(f"factor table {f.name!r}", f.name) for f in tariff.factors]
    places += [(f"adjustment {a.code!r}", c.field) for a in tariff.adjustments for c in a.when]
    places += [("eligibility", r.field) for r in tariff.eligibility]
    places += [
        (f"cover level {c.code!r} eligibility", r.field) for c in tariff.cover_levels for r in c.eligibility
    ]
    if tariff.base_field:
        places.append(("base_field", tariff.base_field))
    for where, name in places:
        if name.lower() in SEX_FIELDS:
            raise SexFactorRefused(where)


TaxKind = Literal["percent_of_net", "percent_of_compulsory_rc", "fixed_per_vehicle", "per_mille_of_capital"]


class ReceiptTax(Frozen):
    """A tax or legal surcharge on the receipt (IPS, Consorcio, CLEA), valid over a period."""

    code: Code
    name: Name
    kind: TaxKind
    rate: Decimal | None = Field(default=None, ge=0, description="Percent, or per mille of capital.")
    amounts: dict[Code, Amount] = Field(default_factory=dict, description="Per vehicle type (fixed).")
    capital_field: Code | None = None
    lines: tuple[Line, ...] = Field(default=(), description="Lines it applies to; empty: every line.")
    exempt_lines: tuple[Line, ...] = ()
    valid_from: date
    valid_to: date | None = None
    legal_reference: Name

    def applies(self, line: str, on: date) -> bool:
        if self.lines and line not in self.lines:
            return False
        if line in self.exempt_lines:
            return False
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)
