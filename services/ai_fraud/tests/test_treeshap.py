"""Per-claim feature contributions: ai-fraud's TreeSHAP gives Shapley values by their definition
(every subset of features, the tree's expectation over the features left out) on a tiny tree,
matches the reference `shap.TreeExplainer` on a trained model, gives the leaf-major form's values
to the bit, and reaches the explanation with signed contributions and Spanish and English labels."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from ai_fraud.core.features import MODEL_FEATURES, model_row
from ai_fraud.models_registry import training
from ai_fraud.models_registry.compiled import Forest, _LeafPaths
from ai_fraud.models_registry.synthetic import generate

from .conftest import Api
from .test_models import _train


def _expectation(forest: Forest, root: int, x: np.ndarray, known: set[int]) -> float:
    """The tree's expected output when only the features in ``known`` are known: a split on a
    known feature follows ``x``, any other split averages its children by training counts."""
    node = root
    if forest.leaf[node]:
        return float(forest.value[node])
    left, right = int(forest.left[node]), int(forest.right[node])
    if int(forest.feature[node]) in known:
        return _expectation(
            forest, left if x[forest.feature[node]] <= forest.threshold[node] else right, x, known
        )
    share = forest.count[left] / forest.count[node]
    return share * _expectation(forest, left, x, known) + (1 - share) * _expectation(forest, right, x, known)


def _shapley_by_definition(forest: Forest, x: np.ndarray) -> np.ndarray:
    """φ_i = Σ_S |S|! (M−|S|−1)! / M! · (E[f | S ∪ {i}] − E[f | S]), summed over the trees."""
    m = len(x)
    phi = np.zeros(m)
    for root in forest.roots:
        for i in range(m):
            others = [j for j in range(m) if j != i]
            for size in range(m):
                weight = math.factorial(size) * math.factorial(m - size - 1) / math.factorial(m)
                for subset in itertools.combinations(others, size):
                    known = set(subset)
                    phi[i] += weight * (
                        _expectation(forest, int(root), x, known | {i})
                        - _expectation(forest, int(root), x, known)
                    )
    return phi


def test_treeshap_on_a_tiny_tree_is_the_shapley_value_by_definition() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 3))
    y = ((x[:, 0] > 0.2) & (x[:, 1] < 0.5) | (x[:, 2] > 1.2) | (x[:, 0] < -1.5)).astype(int)
    # Two small trees (feature 0 matters on both sides: some paths split on it twice).
    model = HistGradientBoostingClassifier(max_iter=2, max_leaf_nodes=5, min_samples_leaf=10).fit(x, y)
    forest = Forest(model)
    for row in rng.normal(size=(12, 3)):
        mine = forest.paths.shap(row)
        assert mine == pytest.approx(_shapley_by_definition(forest, row), abs=1e-12)
        # Efficiency: the values and the expected output add up to the output.
        assert forest.baseline + forest.paths.expected + mine.sum() == pytest.approx(forest.raw(row[None])[0])


def test_treeshap_matches_the_reference_implementation_on_a_trained_model() -> None:
    shap = pytest.importorskip("shap")
    x, y = generate(3000, seed=5)
    trained = training.train(x, y, seed=5)
    predictor = training.load(trained.artifact, expected_digest=trained.artifact_digest)
    assert predictor.trees is not None
    trees = predictor.model["hgb"].calibrated_classifiers_[0].estimator.estimator
    reference = shap.TreeExplainer(trees)
    rows, _ = generate(200, seed=77)
    expected = reference.shap_values(rows)
    mine = np.array([predictor.trees.paths.shap(r) for r in rows])
    assert np.abs(mine - expected).max() < 1e-9
    assert predictor.trees.baseline + predictor.trees.paths.expected == pytest.approx(
        float(np.ravel(reference.expected_value)[0])
    )


def _leaf_major_shap(paths: _LeafPaths, x: np.ndarray) -> np.ndarray:
    """TreeSHAP as it was first written (one row of path slots per leaf, the whole polynomial
    grown at every step): the arithmetic the slot-major form must repeat exactly."""
    phi = np.zeros(paths.n_features)
    for g in paths.groups:
        width = g.feature.shape[1]
        values = x[g.feature]
        follows = ((values > g.lo) & (values <= g.hi)).astype(float)
        z = g.share
        poly = np.zeros((len(z), width + 1))
        poly[:, 0] = 1.0
        for k in range(width):
            grown = poly * z[:, k : k + 1]
            grown[:, 1:] += poly[:, :-1] * follows[:, k : k + 1]
            poly = grown
        quotient = np.zeros_like(z)
        summed = np.zeros_like(z)
        for k in range(width, 0, -1):
            quotient = poly[:, k : k + 1] - z * quotient
            summed += quotient * g.weights[:, k - 1 : k]
        plain = np.sum(poly[:, :width] * g.weights, axis=1, keepdims=True) / z
        summed = np.where(follows > 0, summed, plain)
        contribution = g.value[:, None] * (follows - z) * summed * g.valid
        phi += np.bincount(g.feature.ravel(), weights=contribution.ravel(), minlength=paths.n_features)
    return phi


def test_the_slot_major_treeshap_gives_the_leaf_major_values_to_the_bit() -> None:
    x, y = generate(3000, seed=31)
    trained = training.train(x, y, seed=31)
    predictor = training.load(trained.artifact, expected_digest=trained.artifact_digest)
    assert predictor.trees is not None
    paths = predictor.trees.paths
    assert max(g.feature.shape[1] for g in paths.groups) >= 8, (
        "paths long enough to reach numpy's blocked sums"
    )
    rows, _ = generate(1000, seed=78)
    for row in rows:
        assert np.array_equal(paths.shap(row), _leaf_major_shap(paths, row))


async def test_the_explanation_names_the_features_with_signed_treeshap_contributions(api: Api) -> None:
    version = (await _train(api, seed=41))["model_version"]
    await api.call("POST", f"/models/{version}/promote", expect=200)
    customer = await api.customer()
    claim = await api.claim(
        customer,
        await api.policy(customer, start=date(2026, 3, 1), coverage="10000.00"),
        incident=datetime(2026, 3, 3, 23, 30, tzinfo=UTC),
        amount="9800.00",
        attributes={"police_report": False, "witnesses": 0},
    )
    scored = await api.score(claim, language="en")
    (model,) = [p for p in scored["parts"] if p["kind"] == "model"]
    evidence = model["evidence"]
    assert evidence["contributions_method"].startswith("TreeSHAP")
    contributions = evidence["contributions"]
    assert 1 <= len(contributions) <= 5
    assert [abs(c["contribution"]) for c in contributions] == sorted(
        (abs(c["contribution"]) for c in contributions), reverse=True
    )
    assert all(c["feature"] in MODEL_FEATURES and c["es"] and c["en"] for c in contributions)
    # What moves this claim most is one of its planted signals, and upwards.
    top = contributions[0]
    planted = {"days_since_policy_start", "amount_to_coverage_ratio", "night_incident", "police_report"}
    assert top["feature"] in planted and top["contribution"] > 0, contributions
    assert top["en"] in model["reason_en"] and top["es"] in model["reason_es"]
    # The values are the trees' TreeSHAP values for this claim's features.
    row = np.array(model_row(scored["features"]))
    phi = api.rt.model.predictor.trees.paths.shap(row)
    for c in contributions:
        assert c["contribution"] == round(float(phi[MODEL_FEATURES.index(c["feature"])]), 4)
