"""A documented, seeded synthetic history of renewal decisions (used while the store holds too few
matured renewals to learn from).

Each row is one customer at a renewal; the chance of leaving is a logistic function of planted
effects, with noise, so that a good model reaches a ROC-AUC near the public telco-churn anchor
(~0.84) and no higher:

* a premium rise at renewal pushes towards leaving (+7 per +100 %),
* denied claims (+1.2 each) and complaints (inbound messages, +0.3 each) push towards leaving,
* a claim paid without trouble keeps customers (-0.3 each),
* tenure (-0.35 per year, up to 10), more policies (-0.8 each) and recent contact keep them,
* paying monthly (+0.7) and long silence (+0.006 per day without contact) push towards leaving,
* an unobserved per-customer disposition (normal, sd 0.6) that no feature sees.

The rows prove the pipeline; they say nothing about real customers' behaviour.
"""

from __future__ import annotations

import numpy as np

from analytics.churn.features import MODEL_FEATURES

SEED = 20261207


def generate(n: int = 5000, *, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic renewal decisions: features in :data:`MODEL_FEATURES` order, and 1 = left."""
    rng = np.random.default_rng(seed)
    tenure = np.minimum(rng.gamma(2.0, 2.2, n), 30.0)
    premium_change = np.clip(rng.normal(0.05, 0.14, n), -0.3, 0.8)
    claims = rng.poisson(0.35, n)
    denied = rng.binomial(claims, 0.3)
    inbound = rng.poisson(1.2 + 1.5 * denied, n)
    monthly = rng.binomial(1, 0.35, n)
    policies = 1 + rng.poisson(0.6, n)
    silence = np.minimum(rng.exponential(90, n), 365.0)
    logit = (
        -1.2
        + 7.0 * premium_change
        + 1.2 * denied
        - 0.3 * (claims - denied)
        + 0.3 * inbound
        - 0.35 * np.minimum(tenure, 10)
        - 0.8 * (policies - 1)
        + 0.7 * monthly
        + 0.006 * silence
        + rng.normal(0, 0.6, n)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    columns = {
        "tenure_years": tenure,
        "premium_change": premium_change,
        "claims_12m": claims,
        "claims_denied_12m": denied,
        "inbound_messages_90d": inbound,
        "monthly_payment": monthly,
        "policies": policies,
        "days_since_contact": silence,
    }
    x = np.column_stack([columns[name].astype(float) for name in MODEL_FEATURES])
    return x, y
