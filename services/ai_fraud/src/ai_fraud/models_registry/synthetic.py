"""A seeded generator of SYNTHETIC labelled claims, with planted fraud patterns and noise.

It proves the training pipeline, not real-world accuracy: the patterns are the ones the rules
describe (early claims, amounts near the limit, repeat claimants, night incidents without
evidence, recent bank/address changes, damage the cover does not include, rings), with
continuous effects and interactions the rules do not capture, noise on every feature, and 0.5% of
labels flipped. Prevalence is about 6%.
"""

from __future__ import annotations

import numpy as np

from ai_fraud.core.features import MODEL_FEATURES


def generate(n: int, *, seed: int = 7, label_noise: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic claims as the model's feature matrix (columns: MODEL_FEATURES) and labels."""
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {}
    cols["days_since_policy_start"] = rng.gamma(1.3, 200, n).clip(0, 3000)
    cols["claimed_amount"] = np.exp(rng.normal(7.4, 1.1, n)).clip(50, 500_000)
    cover = np.exp(rng.normal(10.3, 0.8, n)).clip(5_000, 1_000_000)
    cols["amount_to_coverage_ratio"] = (cols["claimed_amount"] / cover).clip(0, 2)
    cols["claims_last_12m"] = rng.poisson(0.35, n).astype(float)
    cols["night_incident"] = (rng.random(n) < 0.18).astype(float)
    cols["police_report"] = rng.choice([0.0, 0.5, 1.0], n, p=[0.45, 0.25, 0.30])
    cols["witnesses"] = rng.poisson(0.6, n).astype(float)
    cols["days_since_iban_change"] = np.where(rng.random(n) < 0.15, rng.uniform(0, 720, n), 730.0)
    cols["days_since_address_change"] = np.where(rng.random(n) < 0.12, rng.uniform(0, 720, n), 730.0)
    cols["days_to_report"] = rng.exponential(4, n).clip(0, 365)
    cols["damage_inconsistent_with_cover"] = (rng.random(n) < 0.04).astype(float)
    cols["ring_customers"] = np.where(rng.random(n) < 0.05, rng.integers(2, 8, n), 1).astype(float)

    # Planted log-odds: continuous effects and interactions, not only the rules' thresholds.
    z = -4.6 + np.zeros(n)
    z += 2.6 * np.exp(-cols["days_since_policy_start"] / 40)
    z += 1.6 * np.clip(cols["amount_to_coverage_ratio"] - 0.5, 0, None) * 2
    z += 0.55 * cols["claims_last_12m"]
    z += 1.3 * cols["night_incident"] * (cols["police_report"] == 0) * (cols["witnesses"] == 0)
    z += 1.2 * np.exp(-cols["days_since_iban_change"] / 30)
    z += 0.8 * np.exp(-cols["days_since_address_change"] / 30)
    z += 1.5 * cols["damage_inconsistent_with_cover"]
    z += 0.45 * (cols["ring_customers"] - 1)
    z += 0.25 * np.log1p(cols["days_to_report"]) - 0.3 * cols["police_report"]
    z += rng.normal(0, 0.4, n)  # unobserved causes
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    flip = rng.random(n) < label_noise
    y[flip] = 1 - y[flip]

    # Measurement noise on what the model sees.
    cols["claimed_amount"] = cols["claimed_amount"] * rng.normal(1, 0.03, n)
    cols["days_to_report"] = (cols["days_to_report"] + rng.normal(0, 0.5, n)).clip(0, None)
    x = np.column_stack([cols[name] for name in MODEL_FEATURES])
    return x, y
