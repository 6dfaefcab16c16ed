"""Training, evaluation and the skops artifact of the churn model (the approach of ai_fraud's
model registry: calibrated gradient boosting, held-out metrics only, skops never pickle, the
artifact's digest checked on load and only scikit-learn/NumPy/SciPy types accepted).

Split 60/20/20: fit a ``HistGradientBoostingClassifier`` on the first part, calibrate it
(``CalibratedClassifierCV``, sigmoid, frozen trees) on the second, and measure on the third. The
baseline is the best single feature's ranking on the same held-out part.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from aintech_shared.artifacts import load_trusted
from analytics.churn.features import FEATURES, MODEL_FEATURES, feature_schema_digest

ALGORITHM = "sigmoid-calibrated HistGradientBoosting"
ANCHOR = "Public telco-churn data sets reach a ROC-AUC of about 0.84 with gradient boosting."

Band = Literal["critical", "high", "medium", "low"]


def band(probability: float) -> Band:
    """critical > 0.7, high > 0.5, medium > 0.3, else low."""
    if probability > 0.7:
        return "critical"
    if probability > 0.5:
        return "high"
    if probability > 0.3:
        return "medium"
    return "low"


class ArtifactRefused(ValueError):
    """The artifact's digest does not match its record, or it holds types we do not load."""


@dataclass
class Trained:
    artifact: bytes
    artifact_digest: str
    data_digest: str
    feature_digest: str
    metrics: dict[str, Any]
    rows: int


def data_digest(x: np.ndarray, y: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def train(x: np.ndarray, y: np.ndarray, *, seed: int = 7) -> Trained:
    """Fit, calibrate and measure on held-out data."""
    if len(np.unique(y)) < 2 or min(int(y.sum()), int((1 - y).sum())) < 20:
        raise ValueError("training needs at least 20 renewals and 20 departures")
    x_fit, x_rest, y_fit, y_rest = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    x_cal, x_test, y_cal, y_test = train_test_split(
        x_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    with threadpool_limits(1):  # a shared machine: OpenMP spinning costs more than it gives
        trees = HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.06, max_leaf_nodes=15, l2_regularization=1.0, random_state=seed
        ).fit(x_fit, y_fit)
        calibrated = CalibratedClassifierCV(FrozenEstimator(trees), method="sigmoid").fit(x_cal, y_cal)
        scores = calibrated.predict_proba(x_test)[:, 1]
    model = {"model": calibrated, "reference": np.median(x_fit, axis=0), "features": list(MODEL_FEATURES)}
    metrics = {
        "held_out_rows": len(y_test),
        "held_out_churn_rate": round(float(y_test.mean()), 4),
        "roc_auc": round(float(roc_auc_score(y_test, scores)), 4),
        "brier": round(float(brier_score_loss(y_test, scores)), 4),
        "baseline": _baseline(x_fit, y_fit, x_test, y_test),
        "anchor": ANCHOR,
    }
    buffer = sio.dumps(model)
    return Trained(
        artifact=buffer,
        artifact_digest=hashlib.sha256(buffer).hexdigest(),
        data_digest=data_digest(x, y),
        feature_digest=feature_schema_digest(),
        metrics=metrics,
        rows=len(y),
    )


def _baseline(x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, Any]:
    """The best single feature (direction chosen on the fit part) scored on the held-out part."""
    best = ("", 0.5, 1.0)
    for i, name in enumerate(MODEL_FEATURES):
        if np.ptp(x_fit[:, i]) == 0:
            continue
        auc = roc_auc_score(y_fit, x_fit[:, i])
        if max(auc, 1 - auc) > best[1]:
            best = (name, max(auc, 1 - auc), 1.0 if auc >= 0.5 else -1.0)
    name, _, sign = best
    scores = sign * x_test[:, MODEL_FEATURES.index(name)] if name else np.zeros(len(y_test))
    return {"feature": name, "roc_auc": round(float(roc_auc_score(y_test, scores)), 4)}


class Predictor:
    """A loaded model: calibrated probability of leaving at renewal and the features behind it."""

    def __init__(self, model: dict[str, Any]) -> None:
        self.model = model
        self.reference = np.asarray(model["reference"], dtype=float)

    def proba(self, x: np.ndarray) -> np.ndarray:
        with threadpool_limits(1):
            return np.asarray(self.model["model"].predict_proba(x)[:, 1])

    def explain(self, x: np.ndarray, top: int = 3) -> list[tuple[float, list[dict[str, Any]]]]:
        """Per row: the probability and the features that raise it most. A feature's contribution is
        the change in probability when it is replaced by the training median (one batched call)."""
        n, k = x.shape
        if n == 0:
            return []
        variants = np.repeat(x, k, axis=0)
        variants[np.arange(n * k), np.tile(np.arange(k), n)] = np.tile(self.reference, n)
        probs = self.proba(np.vstack([x, variants]))
        base, alt = probs[:n], probs[n:].reshape(n, k)
        out = []
        for r in range(n):
            deltas = base[r] - alt[r]
            factors = []
            for i in np.argsort(-deltas)[:top]:
                if deltas[i] < 0.01:
                    continue
                name = MODEL_FEATURES[i]
                factors.append(
                    {
                        "feature": name,
                        "value": round(float(x[r, i]), 4),
                        "contribution": round(float(deltas[i]), 4),
                        "es": FEATURES[name].es,
                        "en": FEATURES[name].en,
                    }
                )
            out.append((float(base[r]), factors))
        return out


def load(artifact: bytes, *, expected_digest: str) -> Predictor:
    """The predictor in ``artifact`` after checking its digest and the types it holds."""
    model = load_trusted(
        artifact, expected_digest=expected_digest, refused=ArtifactRefused, record="its record"
    )
    if not isinstance(model, dict) or list(model.get("features", [])) != list(MODEL_FEATURES):
        raise ArtifactRefused("artifact was trained on another feature schema")
    return Predictor(model)


# What a retention agent should do, by the strongest factor (the band decides the urgency).
ACTIONS: dict[str, tuple[str, str]] = {
    "premium_change": (
        "Revisar la prima de renovación y ofrecer una alternativa más barata o un descuento de fidelidad",
        "Review the renewal premium and offer a cheaper alternative or a loyalty discount",
    ),
    "claims_denied_12m": (
        "Llamar para explicar el siniestro rechazado y revisar la cobertura",
        "Call to explain the denied claim and review the cover",
    ),
    "claims_12m": (
        "Llamar para conocer su experiencia con el siniestro",
        "Call about their claim experience",
    ),
    "inbound_messages_90d": (
        "Atender las quejas pendientes con una llamada de un supervisor",
        "Have a supervisor call about the open complaints",
    ),
    "monthly_payment": (
        "Ofrecer el pago anual con descuento",
        "Offer annual payment with a discount",
    ),
    "policies": ("Ofrecer un paquete multipóliza", "Offer a multi-policy bundle"),
    "days_since_contact": (
        "Llamada de seguimiento antes de la renovación",
        "Check-in call before the renewal",
    ),
    "tenure_years": ("Llamada de bienvenida y revisión de necesidades", "Welcome call and needs review"),
}


def action(risk: Band, factors: list[dict[str, Any]]) -> dict[str, str] | None:
    """The recommended retention action (none for a low risk)."""
    if risk == "low":
        return None
    key = factors[0]["feature"] if factors else "days_since_contact"
    es, en = ACTIONS[key]
    urgency = {"critical": "urgent", "high": "this_week", "medium": "before_renewal"}[risk]
    return {"code": key, "urgency": urgency, "es": es, "en": en}
