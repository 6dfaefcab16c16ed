"""Properties of the pure rating engine over generated risks (hypothesis), on the illustrative tariffs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from quote_engine.rating.engine import Ineligible, Priced, RatingError, rate, rate_covers
from quote_engine.rating.tariff import Adjustment, Condition, ReceiptTax, TariffDefinition
from quote_engine.tariffs.illustrative import all_tariffs

D = Decimal
ON = date(2026, 3, 1)
TARIFFS = [TariffDefinition.model_validate(t) for t in all_tariffs()]
AUTO = [t for t in TARIFFS if t.line == "auto"]
HOME = [t for t in TARIFFS if t.line == "home"]
TAXES = [
    ReceiptTax(
        code="ips",
        name="IPS",
        kind="percent_of_net",
        rate=D(8),
        exempt_lines=("life", "health"),
        valid_from=date(2017, 6, 29),
        legal_reference="Ley 13/1996",
    ),
    ReceiptTax(
        code="cre_auto",
        name="Consorcio",
        kind="fixed_per_vehicle",
        amounts={"car": D("2.10"), "motorcycle": D("1.20")},
        lines=("auto",),
        valid_from=date(2016, 1, 1),
        legal_reference="RDL 7/2004",
    ),
    ReceiptTax(
        code="cre_home",
        name="Consorcio",
        kind="per_mille_of_capital",
        rate=D("0.07"),
        capital_field="insured_capital",
        lines=("home",),
        valid_from=date(2016, 1, 1),
        legal_reference="RDL 7/2004",
    ),
    ReceiptTax(
        code="fg",
        name="Fondo de Garantía",
        kind="percent_of_compulsory_rc",
        rate=D("1.5"),
        lines=("auto",),
        valid_from=date(2016, 1, 1),
        legal_reference="RDL 8/2004",
    ),
    ReceiptTax(
        code="clea",
        name="CLEA",
        kind="percent_of_net",
        rate=D("0.15"),
        valid_from=date(2016, 1, 1),
        legal_reference="RDL 7/2004",
    ),
]

postal = st.sampled_from(["28013", "08001", "46001", "42001", "15001", "41004", "44001", "03001"])


@st.composite
def auto_risks(draw: st.DrawFn) -> dict[str, Any]:
    age = draw(st.integers(16, 95))
    licensed = draw(st.integers(0, max(age - 16, 0)))
    return {
        "postal_code": draw(postal),
        "driver_age": D(age),
        "years_licensed": D(licensed),
        "no_claims_years": D(draw(st.integers(0, licensed))),
        "claims_5y": D(draw(st.integers(0, 6))),
        "policies_held": D(draw(st.integers(0, 4))),
        "payment_frequency": draw(st.sampled_from(["annual", "monthly", "quarterly"])),
        "vehicle_type": draw(st.sampled_from(["car", "motorcycle"])),
        "vehicle_power_hp": D(draw(st.integers(40, 600))),
        "vehicle_age": D(draw(st.integers(0, 40))),
        "km_per_year": D(draw(st.integers(0, 80000))),
        "garage": draw(st.booleans()),
        "use": draw(st.sampled_from(["private", "commercial"])),
    }


@st.composite
def home_risks(draw: st.DrawFn) -> dict[str, Any]:
    building = D(draw(st.integers(0, 2_000_000)))
    contents = D(draw(st.integers(0, 300_000)))
    return {
        "postal_code": draw(postal),
        "building_capital": building,
        "contents_capital": contents,
        "insured_capital": building + contents,
        "construction_year": D(draw(st.integers(1800, 2100))),
        "home_type": draw(st.sampled_from(["apartment", "house", "chalet"])),
        "alarm": draw(st.booleans()),
        "claims_5y": D(draw(st.integers(0, 6))),
        "policies_held": D(draw(st.integers(0, 4))),
        "payment_frequency": draw(st.sampled_from(["annual", "monthly"])),
    }


@st.composite
def priced_cases(draw: st.DrawFn) -> tuple[TariffDefinition, str, dict[str, Any]]:
    if draw(st.booleans()):
        tariff, risk = draw(st.sampled_from(AUTO)), draw(auto_risks())
    else:
        tariff, risk = draw(st.sampled_from(HOME)), draw(home_risks())
    cover = draw(st.sampled_from([c.code for c in tariff.cover_levels]))
    return tariff, cover, risk


@settings(max_examples=300, deadline=None)
@given(priced_cases())
def test_explanation_lines_sum_to_the_total(case: tuple[TariffDefinition, str, dict[str, Any]]) -> None:
    tariff, cover, risk = case
    result = rate(tariff, cover, risk, taxes=TAXES, on=ON)
    if isinstance(result, Ineligible):
        assert result.reasons
        return
    assert sum((line.amount for line in result.lines), D(0)) == result.total
    running = D(0)
    for line in result.lines:
        running += line.amount
        assert line.running_total == running
        assert line.amount == line.amount.quantize(D("0.01"))
    taxes = sum((t.amount for t in result.taxes), D(0))
    assert result.net_premium + taxes == result.total


@settings(max_examples=300, deadline=None)
@given(priced_cases())
def test_net_premium_stays_between_the_minimum_and_the_cap(
    case: tuple[TariffDefinition, str, dict[str, Any]],
) -> None:
    tariff, cover, risk = case
    result = rate(tariff, cover, risk, taxes=TAXES, on=ON)
    if isinstance(result, Priced):
        assert result.net_premium >= tariff.minimum_premium
        assert result.total >= tariff.minimum_premium
        assert tariff.maximum_premium is None or result.net_premium <= tariff.maximum_premium


@settings(max_examples=200, deadline=None)
@given(priced_cases())
def test_same_input_and_version_give_the_same_result(
    case: tuple[TariffDefinition, str, dict[str, Any]],
) -> None:
    tariff, cover, risk = case
    again = TariffDefinition.model_validate(tariff.model_dump(mode="json", by_alias=True))
    assert rate(tariff, cover, risk, taxes=TAXES, on=ON) == rate(again, cover, dict(risk), taxes=TAXES, on=ON)


@settings(max_examples=300, deadline=None)
@given(
    priced_cases(),
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=500, places=2),
    st.booleans(),
)
def test_a_surcharge_never_lowers_the_premium(
    case: tuple[TariffDefinition, str, dict[str, Any]], percent: Decimal, amount: Decimal, by_percent: bool
) -> None:
    tariff, cover, risk = case
    surcharge = Adjustment(
        code="test_surcharge",
        kind="surcharge",
        percent=percent if by_percent else None,
        amount=None if by_percent else amount,
        when=(Condition(field="postal_code", op="ne", value="00000"),),
    )
    # placed first, in the middle and last among the adjustments
    for at in (0, len(tariff.adjustments) // 2, len(tariff.adjustments)):
        adjustments = (*tariff.adjustments[:at], surcharge, *tariff.adjustments[at:])
        surcharged = tariff.model_copy(update={"adjustments": adjustments})
        before = rate(tariff, cover, risk, taxes=TAXES, on=ON)
        after = rate(surcharged, cover, risk, taxes=TAXES, on=ON)
        if isinstance(before, Priced):
            assert isinstance(after, Priced)
            assert after.net_premium >= before.net_premium
            assert after.total >= before.total


def _outcome(call: Any) -> Any:
    """A rating's result, or the field and message of the RatingError it raised."""
    try:
        return call()
    except RatingError as exc:
        return ("RatingError", exc.field, exc.message)


@settings(max_examples=300, deadline=None)
@given(priced_cases(), st.data())
def test_rating_every_cover_level_at_once_answers_as_rating_each_alone(
    case: tuple[TariffDefinition, str, dict[str, Any]], data: st.DataObject
) -> None:
    tariff, _, risk = case
    # Sometimes a field is missing: each cover level must fail (or be refused) as it does alone.
    dropped = data.draw(st.sampled_from([None, *sorted(risk)]))
    if dropped is not None:
        risk = {k: v for k, v in risk.items() if k != dropped}
    codes = [c.code for c in tariff.cover_levels]
    alone: list[Any] = []
    for code in codes:
        outcome = _outcome(lambda code=code: rate(tariff, code, risk, taxes=TAXES, on=ON))
        alone.append(outcome)
        if isinstance(outcome, tuple):  # rating stops at the first error, as a comparison does
            break
    together = _outcome(lambda: rate_covers(tariff, codes, risk, taxes=TAXES, on=ON))
    if isinstance(alone[-1], tuple):
        assert together == alone[-1]
    else:
        assert together == alone


def _figures_text(priced: Priced) -> list[str]:
    """A priced offer's figures as an answer writes them (their text, exponent and sign)."""
    taxes = [str(x) for t in priced.taxes for x in (t.base, t.amount)]
    return [str(priced.net_premium), str(priced.compulsory_rc_premium), str(priced.total), *taxes]


@settings(max_examples=300, deadline=None)
@given(priced_cases(), st.data())
def test_rating_without_explanation_lines_gives_the_same_figures(
    case: tuple[TariffDefinition, str, dict[str, Any]], data: st.DataObject
) -> None:
    tariff, cover, risk = case
    dropped = data.draw(st.sampled_from([None, *sorted(risk)]))
    if dropped is not None:
        risk = {k: v for k, v in risk.items() if k != dropped}
    explained = _outcome(lambda: rate(tariff, cover, risk, taxes=TAXES, on=ON))
    bare = _outcome(lambda: rate(tariff, cover, risk, taxes=TAXES, on=ON, explain=False))
    codes = [c.code for c in tariff.cover_levels]
    every = _outcome(lambda: rate_covers(tariff, codes, risk, taxes=TAXES, on=ON))
    every_bare = _outcome(lambda: rate_covers(tariff, codes, risk, taxes=TAXES, on=ON, explain=False))
    if isinstance(explained, Priced):
        assert isinstance(bare, Priced)
        assert bare.lines == ()
        assert explained.lines  # the explained one has its lines, and they sum to the same total
        assert sum((line.amount for line in explained.lines), D(0)) == explained.total == bare.total
        assert (bare.net_premium, bare.compulsory_rc_premium, bare.taxes, bare.zone) == (
            explained.net_premium,
            explained.compulsory_rc_premium,
            explained.taxes,
            explained.zone,
        )
        # ... and written alike to the digit (an answer's bytes come from these figures' text)
        assert _figures_text(bare) == _figures_text(explained)
    else:  # refused alike, for the same reasons, or failing alike on the same field
        assert bare == explained
    if isinstance(every, list):
        assert isinstance(every_bare, list)
        assert [r.total if isinstance(r, Priced) else r for r in every_bare] == [
            r.total if isinstance(r, Priced) else r for r in every
        ]
    else:
        assert every_bare == every
