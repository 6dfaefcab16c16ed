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
* **TreeSHAP**: each leaf's root path reduced, per distinct feature, to the interval of values
  that follow it and the share of training samples that did; a row's exact path-dependent
  Shapley values (Lundberg et al.'s TreeSHAP, the values ``shap.TreeExplainer`` gives) are then a
  few polynomial products per group of equally long paths, without a call into ``shap``.

A model this module cannot flatten (another calibration method, categorical splits) raises
``NotCompilable`` and is evaluated by scikit-learn instead. ``tests/test_fast_scoring.py`` checks
the two agree on the planted cases and on thousands of synthetic claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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

        self.paths = _LeafPaths(self, n_features=int(model.n_features_in_))

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """The leaf each row reaches in each tree: shape (rows, trees)."""
        if len(x) == 1:  # a score: plain indexing, and no NaN check per level when there is none
            return self._leaves_of_one(x[0])[None, :]
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        for _ in range(self.depth):
            value = np.take_along_axis(x, self.feature[node], axis=1)
            go_left = value <= self.threshold[node]
            missing = np.isnan(value)
            if missing.any():
                go_left = np.where(missing, self.missing_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        return node

    def _leaves_of_one(self, row: np.ndarray) -> np.ndarray:
        node = self.roots
        missing = bool(np.isnan(row).any())
        for _ in range(self.depth):
            value = row[self.feature[node]]
            go_left = value <= self.threshold[node]
            if missing:
                go_left = np.where(np.isnan(value), self.missing_left[node], go_left)
            node = np.where(go_left, self.left[node], self.right[node])
        return node

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The log-odds (``decision_function``) of each row."""
        values = self.value[self.leaves(x)]
        start = np.full((len(x), 1), self.baseline)
        # Summed left to right from the baseline, as scikit-learn adds tree after tree.
        return np.asarray(np.cumsum(np.concatenate([start, values], axis=1), axis=1)[:, -1])


class _LeafPaths:
    """Every leaf's root path, reduced to what TreeSHAP needs: per distinct feature on the path, the
    interval of values that follow the path (``lo < x <= hi``) and the share of training samples
    that did (the product of the child/parent counts at the path's splits on that feature)."""

    def __init__(self, forest: Forest, *, n_features: int) -> None:
        parent = np.full(len(forest.value), -1, dtype=np.intp)
        internal = np.flatnonzero(~forest.leaf)
        parent[forest.left[internal]] = internal
        parent[forest.right[internal]] = internal
        rows: list[dict[int, list[float]]] = []
        leaves = np.flatnonzero(forest.leaf)
        for leaf in leaves:
            slots: dict[int, list[float]] = {}  # feature -> [lo, hi, share]
            node = int(leaf)
            while parent[node] >= 0:
                up = int(parent[node])
                feature, threshold = int(forest.feature[up]), float(forest.threshold[up])
                slot = slots.setdefault(feature, [-np.inf, np.inf, 1.0])
                if node == forest.left[up]:
                    slot[1] = min(slot[1], threshold)
                else:
                    slot[0] = max(slot[0], threshold)
                slot[2] *= forest.count[node] / forest.count[up]
                node = up
            rows.append(slots)
        self.n_features = n_features
        values = forest.value[leaves]
        # Leaves grouped by how many distinct features their path has (d), in a few buckets of
        # padded width: fewer NumPy calls than one group per d, less padding than one group.
        # A padding slot is the factor 1 (never followed, share 1) and contributes nothing.
        self.groups: list[_PathGroup] = []
        depths = np.array([len(r) for r in rows])
        low = 0
        for width in (*_BUCKETS, int(depths.max(initial=0))):
            members = [i for i, d in enumerate(depths) if low < d <= width]
            low = max(low, width)
            if not members:
                continue
            n = len(members)
            group = _PathGroup(
                value=values[members],
                feature=np.zeros((n, width), dtype=np.intp),
                lo=np.full((n, width), np.inf),
                hi=np.full((n, width), np.inf),
                share=np.ones((n, width)),
                valid=np.zeros((n, width)),
                weights=np.zeros((n, width)),
            )
            for r, i in enumerate(members):
                d = len(rows[i])
                for k, (feature, (lo, hi, share)) in enumerate(sorted(rows[i].items())):
                    group.feature[r, k], group.lo[r, k], group.hi[r, k] = feature, lo, hi
                    group.share[r, k], group.valid[r, k] = share, 1.0
                # Shapley weights s! (d-1-s)! / d! for s = 0 .. d-1 other features on the path.
                for k in range(d):
                    group.weights[r, k] = math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d)
            group.finish()
            self.groups.append(group)
        # The trees' expected output: each leaf's value times the share of samples reaching it
        # (a tree that is a single leaf included; it has no path, so no group).
        self.expected = float(
            sum(v * math.prod(s[2] for s in r.values()) for v, r in zip(values, rows, strict=True))
        )

    def shap(self, x: np.ndarray) -> np.ndarray:
        """Path-dependent TreeSHAP values of one row (log-odds, one per feature): the sum over
        leaves of v · (o_i − z_i) · Σ_S w(|S|, d) Π_{j∉S, j≠i} z_j, with o_j whether the row follows
        the path at feature j and z_j the share of training samples that did.

        Worked slot-major (one contiguous row of leaves per path slot), and the polynomial grown
        only over the coefficients that can be non-zero yet: the same floating-point operations
        on each element as the leaf-major form, in the same order, so the same values to the bit
        (``tests/test_treeshap.py`` compares the two)."""
        if not np.all(np.isfinite(x)):
            raise ValueError("TreeSHAP here explains finite feature values only")
        phi = np.zeros(self.n_features)
        for g in self.groups:
            width = g.feature.shape[1]
            values = x[g.feature_t]
            follows = ((values > g.lo_t) & (values <= g.hi_t)).astype(float)
            z = g.share_t
            # Coefficients (in t) of Π_j (z_j + o_j t) over the path's features; after k factors
            # only the first k + 1 can be non-zero (the rest stay exact zeros).
            poly = np.zeros((width + 1, z.shape[1]))
            poly[0] = 1.0
            for k in range(width):
                grown = poly[: k + 2] * z[k]
                grown[1:] += poly[: k + 1] * follows[k]
                poly[: k + 2] = grown
            # Divide feature i's own factor out — by (t + z_i) when the row follows the path at i
            # (from the top coefficient down), else by z_i — and weigh the quotient's coefficients.
            quotient = np.zeros_like(z)
            summed = np.zeros_like(z)
            for k in range(width, 0, -1):
                quotient = poly[k] - z * quotient
                summed += quotient * g.weights_t[k - 1]
            # Summed along each leaf's own contiguous row, as the leaf-major form sums it.
            plain = np.sum(np.ascontiguousarray(poly[:width].T) * g.weights, axis=1) / z
            summed = np.where(follows > 0, summed, plain)
            contribution = g.value * (follows - z) * summed * g.valid_t
            phi += np.bincount(g.feature.ravel(), weights=contribution.T.ravel(), minlength=self.n_features)
        return phi


_BUCKETS = (3, 5, 7)  # padded widths of the path groups (the last group takes the longest paths)


@dataclass
class _PathGroup:
    value: np.ndarray  # (leaves,)
    feature: np.ndarray  # (leaves, width); padding: feature 0, never followed, share 1
    lo: np.ndarray
    hi: np.ndarray
    share: np.ndarray
    valid: np.ndarray  # 1.0 for a real slot, 0.0 for padding
    weights: np.ndarray  # (leaves, width): w(s, d) of the leaf's own d, 0 beyond d - 1

    # The same arrays slot-major (width, leaves), contiguous: what ``shap`` computes on.
    feature_t: np.ndarray = field(init=False)
    lo_t: np.ndarray = field(init=False)
    hi_t: np.ndarray = field(init=False)
    share_t: np.ndarray = field(init=False)
    valid_t: np.ndarray = field(init=False)
    weights_t: np.ndarray = field(init=False)

    def finish(self) -> None:
        """Make the slot-major copies, once the leaf-major arrays are filled."""
        for name in ("feature", "lo", "hi", "share", "valid", "weights"):
            setattr(self, f"{name}_t", np.ascontiguousarray(getattr(self, name).T))


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
