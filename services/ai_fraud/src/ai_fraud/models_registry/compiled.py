"""The loaded model's arrays, evaluated with NumPy: the same numbers as scikit-learn, for a few rows.

Scoring asks for one claim at a time. scikit-learn's ``predict_proba`` on one row pays for input
validation, label encoding and, in the gradient-boosted trees, an OpenMP parallel loop whose
threads spin on a shared 2-core machine: tens of milliseconds for a microsecond of arithmetic.
At load, the model is flattened once:

* **Trees**: every tree of the ``HistGradientBoostingClassifier`` in one node array (feature,
  threshold, missing-goes-left, children, leaf value); all trees are walked together, one NumPy
  step per level, with the same ``x <= threshold`` (NaN: the learned side) as scikit-learn's
  predictor, and the leaf values added to the baseline in scikit-learn's order (so the sum is the
  same to the last bit).
* **Network**: the scaler's mean and scale, then each layer's weights, with scikit-learn's own
  activation functions.
* **Calibration**: each calibrated classifier's sigmoid ``expit(-(a·f + b))``, averaged.

A model this module cannot flatten (another calibration method, categorical splits) raises
``NotCompilable`` and is evaluated by scikit-learn instead. ``tests/test_fast_scoring.py`` checks
the two agree on the planted cases and on thousands of synthetic claims.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.neural_network._base import ACTIVATIONS
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler


class NotCompilable(ValueError):
    """The model holds something this module does not evaluate."""


class Forest:
    """The trees of a binary ``HistGradientBoostingClassifier`` as flat arrays."""

    def __init__(self, model: HistGradientBoostingClassifier) -> None:
        if model.n_trees_per_iteration_ != 1:
            raise NotCompilable("only binary gradient boosting is compiled")
        trees = [iteration[0].nodes for iteration in model._predictors]
        if any(t["is_categorical"].any() for t in trees):
            raise NotCompilable("categorical splits are not compiled")
        sizes = np.array([len(t) for t in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        nodes = np.concatenate(trees)
        shift = np.repeat(offsets, sizes)
        index = np.arange(len(nodes), dtype=np.intp)
        leaf = nodes["is_leaf"].astype(bool)
        self.roots = offsets
        self.feature = nodes["feature_idx"].astype(np.intp)
        self.threshold = nodes["num_threshold"].astype(np.float64)
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.left = np.where(leaf, index, nodes["left"].astype(np.intp) + shift)  # a leaf stays put
        self.right = np.where(leaf, index, nodes["right"].astype(np.intp) + shift)
        self.leaf = leaf
        self.value = nodes["value"].astype(np.float64)
        self.count = nodes["count"].astype(np.float64)
        self.depth = int(nodes["depth"].max())
        self.baseline = float(np.asarray(model._baseline_prediction).ravel()[0])
        self.tree_of = np.repeat(np.arange(len(trees)), sizes)

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: shape (rows, trees)."""
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            value = np.take_along_axis(x, self.feature[node], axis=1)
            go_left = value <= self.threshold[node]
            missing = np.isnan(value)
            if missing.any():
                go_left = np.where(missing, self.missing_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        return node

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The log-odds (``decision_function``) of each row."""
        values = self.value[self.leaves(x)]
        start = np.full((len(x), 1), self.baseline)
        # Summed left to right from the baseline, as scikit-learn adds tree after tree.
        return np.asarray(np.cumsum(np.concatenate([start, values], axis=1), axis=1)[:, -1])


class Network:
    """A ``StandardScaler`` + ``MLPClassifier`` pipeline as arrays: the positive-class probability."""

    def __init__(self, pipeline: Pipeline) -> None:
        steps = [step for _, step in pipeline.steps]
        if [type(s) for s in steps] != [StandardScaler, MLPClassifier]:
            raise NotCompilable("only StandardScaler + MLPClassifier pipelines are compiled")
        scaler, net = steps
        if net.n_outputs_ != 1 or scaler.mean_ is None or scaler.scale_ is None:
            raise NotCompilable("only a binary network behind a centring scaler is compiled")
        self.mean, self.scale = np.asarray(scaler.mean_), np.asarray(scaler.scale_)
        self.layers = list(zip(net.coefs_, net.intercepts_, strict=True))
        self.hidden = ACTIVATIONS[net.activation]
        self.output = ACTIVATIONS[net.out_activation_]

    def proba(self, x: np.ndarray) -> np.ndarray:
        activation = (x - self.mean) / self.scale
        last = len(self.layers) - 1
        for i, (weights, intercept) in enumerate(self.layers):
            activation = activation @ weights
            activation += intercept
            if i != last:
                self.hidden(activation)
        self.output(activation)
        return np.asarray(activation.ravel())


class Calibrated:
    """A ``CalibratedClassifierCV`` (sigmoid) over a forest or a network: calibrated probabilities."""

    def __init__(self, model: CalibratedClassifierCV) -> None:
        if model.method != "sigmoid" or len(model.classes_) != 2:
            raise NotCompilable("only binary sigmoid calibration is compiled")
        self.parts: list[tuple[Forest | Network, float, float]] = []
        for calibrated in model.calibrated_classifiers_:
            inner = getattr(calibrated.estimator, "estimator", calibrated.estimator)  # FrozenEstimator
            if list(getattr(inner, "classes_", [])) != list(model.classes_):
                raise NotCompilable("the calibrated estimator's classes differ")
            base: Forest | Network
            if isinstance(inner, HistGradientBoostingClassifier):
                base = Forest(inner)
            elif isinstance(inner, Pipeline):
                base = Network(inner)
            else:
                raise NotCompilable(f"{type(inner).__name__} is not compiled")
            (sigmoid,) = calibrated.calibrators
            self.parts.append((base, float(sigmoid.a_), float(sigmoid.b_)))

    def proba(self, x: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        for base, a, b in self.parts:
            response = base.raw(x) if isinstance(base, Forest) else base.proba(x)
            total += expit(-(a * response + b))
        total /= len(self.parts)
        return total

    @property
    def forest(self) -> Forest | None:
        """The (first) calibrated forest, for tree explanations."""
        return next((base for base, _, _ in self.parts if isinstance(base, Forest)), None)


def compile_model(model: dict[str, Any]) -> tuple[Calibrated, Calibrated]:
    """The model's two calibrated learners, flattened (``NotCompilable`` when they cannot be)."""
    return Calibrated(model["hgb"]), Calibrated(model["mlp"])
