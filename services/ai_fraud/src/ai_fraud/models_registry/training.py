"""Training, evaluation and the skops artifact of the fraud model.

Two learners, averaged: gradient-boosted trees (``HistGradientBoostingClassifier`` with
balanced class weights) and a small neural network (``MLPClassifier`` behind a scaler, positives
oversampled), each calibrated with ``CalibratedClassifierCV`` (sigmoid, on held-back data) so the
average is a probability. The data is split 60/20/20: fit on the first part, calibration and the
review threshold (the score at which 10% of claims go to review) on the second, and every
reported metric on the third, held-out part only. The baseline is the best single model feature's
ranking on the same part.

Artifacts are skops files (never pickle). On load, the SHA-256 of the bytes must equal the
registry's digest, and the file may only hold scikit-learn, NumPy and SciPy types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ai_fraud.core.features import FEATURES, MODEL_FEATURES, feature_schema_digest
from ai_fraud.models_registry.compiled import Calibrated, Forest, NotCompilable, compile_model
from aintech_shared.artifacts import load_trusted

ALGORITHM = "mean(sigmoid-calibrated HistGradientBoosting, sigmoid-calibrated MLP 32-16)"
REVIEW_BUDGET = 0.10

Progress = Callable[[int, str], None]


class ArtifactRefused(ValueError):
    """The artifact's digest does not match the registry, or it holds types we do not load."""


def data_digest(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def recall_at_budget(y: np.ndarray, scores: np.ndarray, budget: float = REVIEW_BUDGET) -> float:
    """Share of the frauds found when the top ``budget`` share of claims is reviewed."""
    k = max(1, round(len(scores) * budget))
    top = np.argsort(-scores, kind="stable")[:k]
    positives = int(y.sum())
    return float(y[top].sum() / positives) if positives else 0.0


@dataclass
class Trained:
    artifact: bytes
    artifact_digest: str
    data_digest: str
    feature_digest: str
    metrics: dict[str, Any]
    threshold: float
    rows: int


def train(x: np.ndarray, y: np.ndarray, *, seed: int = 7, progress: Progress | None = None) -> Trained:
    """Fit, calibrate, choose the threshold and measure on held-out data."""
    say = progress or (lambda _p, _s: None)
    if len(np.unique(y)) < 2 or int(y.sum()) < 10:
        raise ValueError("training needs at least 10 fraud and 10 genuine labelled claims")
    x_fit, x_rest, y_fit, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_val, x_test, y_val, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    say(10, "split 60/20/20 (fit / threshold / held-out test)")
    with threadpool_limits(1):  # a shared 2-core machine: OpenMP spinning costs more than it gives
        trees = HistGradientBoostingClassifier(
            max_iter=120, learning_rate=0.1, class_weight="balanced", random_state=seed
        ).fit(x_fit, y_fit)
        hgb = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid").fit(x_val, y_val)
        say(45, "gradient boosting fitted, calibrated on the threshold part")
        # The network has no class weights: the rare class is oversampled instead.
        rng = np.random.default_rng(seed)
        positives = np.flatnonzero(y_fit == 1)
        extra = rng.choice(positives, size=max(0, len(y_fit) - 2 * len(positives)) // 3, replace=True)
        x_bal, y_bal = np.vstack([x_fit, x_fit[extra]]), np.concatenate([y_fit, y_fit[extra]])
        net = make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=200, early_stopping=True, random_state=seed),
        ).fit(x_bal, y_bal)
        mlp = CalibratedClassifierCV(FrozenEstimator(net), method="sigmoid").fit(x_val, y_val)
        say(80, "neural network fitted, calibrated on the threshold part")
    model = {
        "hgb": hgb,
        "mlp": mlp,
        "reference": np.median(x_fit, axis=0),
        "features": list(MODEL_FEATURES),
    }
    predictor = Predictor(model, compiled=False)  # held-out metrics from scikit-learn itself
    with threadpool_limits(1):
        val_scores = predictor.proba(x_val)
        test_scores = predictor.proba(x_test)
    threshold = float(np.quantile(val_scores, 1 - REVIEW_BUDGET))
    baseline = _baseline(x_fit, y_fit, x_test, y_test)
    flagged = test_scores >= threshold
    metrics = {
        "held_out_rows": len(y_test),
        "held_out_prevalence": round(float(y_test.mean()), 4),
        "roc_auc": round(float(roc_auc_score(y_test, test_scores)), 4),
        "pr_auc": round(float(average_precision_score(y_test, test_scores)), 4),
        "recall_at_10pct_review": round(recall_at_budget(y_test, test_scores), 4),
        "precision_at_threshold": round(float(y_test[flagged].mean()) if flagged.any() else 0.0, 4),
        "baseline": baseline,
        "caveat": "Held-out metrics; on synthetic data they prove the pipeline, not real-world accuracy.",
    }
    say(95, "held-out metrics computed")
    buffer = sio.dumps(model)
    return Trained(
        artifact=buffer,
        artifact_digest=hashlib.sha256(buffer).hexdigest(),
        data_digest=data_digest(x, y),
        feature_digest=feature_schema_digest(),
        metrics=metrics,
        threshold=round(threshold, 6),
        rows=len(y),
    )


def _baseline(x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """The best single feature (direction chosen on the fit part) scored on the held-out part."""
    best = ("", 0.5, 1.0)
    for i, name in enumerate(MODEL_FEATURES):
        if np.ptp(x_fit[:, i]) == 0:
            continue
        auc = roc_auc_score(y_fit, x_fit[:, i])
        sign = 1.0 if auc >= 0.5 else -1.0
        if max(auc, 1 - auc) > best[1]:
            best = (name, max(auc, 1 - auc), sign)
    name, _, sign = best
    scores = sign * x_test[:, MODEL_FEATURES.index(name)] if name else np.zeros(len(y_test))
    return {
        "feature": name,
        "roc_auc": round(float(roc_auc_score(y_test, scores)), 4),
        "pr_auc": round(float(average_precision_score(y_test, scores)), 4),
        "recall_at_10pct_review": round(recall_at_budget(y_test, scores), 4),
    }


class Predictor:
    """A loaded model: calibrated fraud probability and per-feature contributions."""

    def __init__(self, model: dict[str, Any], *, compiled: bool = True) -> None:
        self.model = model
        self.features: list[str] = list(model["features"])
        self.reference = np.asarray(model["reference"], dtype=float)
        self.compiled: tuple[Calibrated, Calibrated] | None = None
        if compiled:
            try:
                self.compiled = compile_model(model)
            except NotCompilable:
                self.compiled = None  # scikit-learn evaluates it (slower on one row, same numbers)
        self.trees: Forest | None = None  # the gradient-boosted trees, for TreeSHAP explanations
        try:
            self.trees = self.compiled[0].forest if self.compiled else Calibrated(model["hgb"]).forest
        except NotCompilable:
            self.trees = None

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Calibrated fraud probabilities: the flattened model when there is one, else scikit-learn's."""
        if self.compiled is not None:
            hgb, mlp = self.compiled
            p = hgb.proba(x) + mlp.proba(x)
            return np.asarray(p / 2)
        with threadpool_limits(1):
            p = self.model["hgb"].predict_proba(x)[:, 1] + self.model["mlp"].predict_proba(x)[:, 1]
        return np.asarray(p / 2)

    def explain(self, row: list[float], top: int = 5) -> tuple[float, list[dict[str, Any]]]:
        """The probability and the features that moved it most, with signed contributions.

        With TreeSHAP (the gradient-boosted trees flattened): each feature's exact path-dependent
        Shapley value, in log-odds of the trees (they sum, with the trees' expected log-odds, to
        the trees' log-odds for this claim). Otherwise: the change in probability when the
        feature is replaced by the training median (one batched prediction)."""
        x = np.asarray([row], dtype=float)
        if self.trees is not None:
            p = float(self.proba(x)[0])
            deltas = self.trees.paths.shap(x[0])
            floor = 0.01
        else:
            variants = np.repeat(x, len(self.features), axis=0)
            variants[np.arange(len(self.features)), np.arange(len(self.features))] = self.reference
            probs = self.proba(np.vstack([x, variants]))
            p = float(probs[0])
            deltas = p - probs[1:]
            floor = 0.005
        order = np.argsort(-np.abs(deltas), kind="stable")[:top]
        out = []
        for i in order:
            if abs(deltas[i]) < floor:
                continue
            name = self.features[i]
            out.append(
                {
                    "feature": name,
                    "value": round(float(x[0, i]), 4),
                    "contribution": round(float(deltas[i]), 4),
                    "es": FEATURES[name].es,
                    "en": FEATURES[name].en,
                }
            )
        return p, out

    @property
    def contributions_method(self) -> str:
        if self.trees is not None:
            return "TreeSHAP: log-odds of the gradient-boosted trees"
        return "probability change with the feature at its training median"


def load(artifact: bytes, *, expected_digest: str) -> Predictor:
    """The predictor in ``artifact`` after checking its digest and the types it holds."""
    model = load_trusted(
        artifact, expected_digest=expected_digest, refused=ArtifactRefused, record="the registry's"
    )
    if not isinstance(model, dict) or list(model.get("features", [])) != list(MODEL_FEATURES):
        raise ArtifactRefused("artifact was trained on another feature schema")
    return Predictor(model)
