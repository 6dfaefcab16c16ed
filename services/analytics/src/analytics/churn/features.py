"""The churn model's features, computed from the ingested facts (one row per customer).

Every feature is read from the store as of a date (``as_of``): nothing after it is seen, so the
same query serves scoring today and building labelled rows for a renewal that matured in the past.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from analytics.store.port import Row, Store, array_param


@dataclass(frozen=True)
class Feature:
    es: str
    en: str


FEATURES: dict[str, Feature] = {
    "tenure_years": Feature("Antigüedad como cliente (años)", "Years as a customer"),
    "premium_change": Feature(
        "Subida de prima en la última renovación", "Premium change at the last renewal"
    ),
    "claims_12m": Feature("Siniestros en los últimos 12 meses", "Claims in the last 12 months"),
    "claims_denied_12m": Feature("Siniestros rechazados en 12 meses", "Claims denied in the last 12 months"),
    "inbound_messages_90d": Feature(
        "Mensajes recibidos del cliente en 90 días (quejas)",
        "Messages from the customer in 90 days (complaints)",
    ),
    "monthly_payment": Feature("Pago mensual", "Pays monthly"),
    "policies": Feature("Pólizas en vigor", "Policies in force"),
    "days_since_contact": Feature("Días desde el último contacto", "Days since the last contact"),
}

MODEL_FEATURES: tuple[str, ...] = tuple(FEATURES)


def feature_schema_digest() -> str:
    """A digest of the feature names and their order (an artifact must match it)."""
    return hashlib.sha256(",".join(MODEL_FEATURES).encode()).hexdigest()


# Per customer, as of {as_of}: the policies' latest terms, claims, messages and calls before it.
FEATURE_SQL = """
WITH toDate({as_of:String}) AS as_of,
terms AS (
    SELECT t.customer_id AS customer_id, t.policy_id AS policy_id, t.term_start AS term_start,
           t.term_end AS term_end, t.premium AS premium, t.previous_premium AS previous_premium,
           t.premium_frequency AS premium_frequency, t.kind AS kind
    FROM $db.policy_terms AS t FINAL
    WHERE t.term_start <= as_of AND t.customer_id != ''
      AND ({all:UInt8} = 1 OR has({ids:Array(String)}, t.customer_id))
      AND t.policy_id NOT IN (SELECT policy_id FROM $db.policy_cancellations FINAL
                              WHERE toDate(cancelled_at) <= as_of)
),
current AS (
    SELECT customer_id, policy_id, argMax(term_end, term_start) AS term_end,
           argMax(premium, term_start) AS premium, argMax(previous_premium, term_start) AS previous_premium,
           argMax(premium_frequency, term_start) AS premium_frequency, min(term_start) AS first_start
    FROM terms GROUP BY customer_id, policy_id
),
customer AS (
    SELECT customer_id, min(first_start) AS first_start,
           countIf(term_end > as_of) AS policies,
           minIf(term_end, term_end > as_of) AS next_renewal,
           argMinIf(policy_id, term_end, term_end > as_of) AS renewal_policy,
           max(if(previous_premium IS NOT NULL AND previous_premium > 0,
                  toFloat64(premium) / toFloat64(previous_premium) - 1, 0)) AS premium_change,
           max(premium_frequency = 'monthly') AS monthly_payment
    FROM current GROUP BY customer_id
),
claims AS (
    SELECT customer_id, uniqExact(claim_id) AS claims_12m,
           uniqExactIf(claim_id, status = 'denied') AS claims_denied_12m
    FROM $db.claim_events FINAL
    WHERE customer_id != '' AND toDate(time) <= as_of AND toDate(time) > as_of - 365
    GROUP BY customer_id
),
msgs AS (
    SELECT customer_id, countIf(direction = 'inbound' AND toDate(at) > as_of - 90) AS inbound_90d,
           max(at) AS last_at
    FROM $db.messages FINAL WHERE customer_id != '' AND toDate(at) <= as_of GROUP BY customer_id
),
calls AS (
    SELECT customer_id, max(ended_at) AS last_at
    FROM $db.calls FINAL WHERE customer_id != '' AND toDate(ended_at) <= as_of GROUP BY customer_id
)
SELECT c.customer_id AS customer_id,
       dateDiff('day', c.first_start, as_of) / 365.0 AS tenure_years,
       c.premium_change AS premium_change,
       ifNull(cl.claims_12m, 0) AS claims_12m,
       ifNull(cl.claims_denied_12m, 0) AS claims_denied_12m,
       ifNull(m.inbound_90d, 0) AS inbound_messages_90d,
       toUInt8(c.monthly_payment) AS monthly_payment,
       c.policies AS policies,
       least(365, dateDiff('day', greatest(ifNull(toDate(m.last_at), c.first_start),
                                           ifNull(toDate(k.last_at), c.first_start)), as_of))
           AS days_since_contact,
       if(c.policies > 0, toString(c.next_renewal), NULL) AS next_renewal,
       if(c.policies > 0, c.renewal_policy, NULL) AS renewal_policy
FROM customer AS c
LEFT JOIN claims AS cl ON cl.customer_id = c.customer_id
LEFT JOIN msgs AS m ON m.customer_id = c.customer_id
LEFT JOIN calls AS k ON k.customer_id = c.customer_id
ORDER BY customer_id
"""


async def customer_features(store: Store, *, as_of: date, customer_ids: list[str] | None) -> list[Row]:
    """Feature rows (plus ``next_renewal`` and ``renewal_policy``) of the given customers, or of
    every customer with a policy, as of ``as_of``."""
    params: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "all": 1 if customer_ids is None else 0,
        "ids": array_param(customer_ids or []),
    }
    return await store.query(FEATURE_SQL, params)


# Renewals that matured before {as_of}: terms that ended, not cancelled; renewed if a later term.
MATURED_SQL = """
WITH toDate({as_of:String}) AS as_of
SELECT t.customer_id AS customer_id, toString(t.term_end) AS term_end, toUInt8(t.renewed) AS renewed
FROM (
    SELECT policy_id, customer_id, term_end,
           term_start < max(term_start) OVER (PARTITION BY policy_id) AS renewed
    FROM $db.policy_terms FINAL
) AS t
LEFT JOIN (SELECT policy_id, toDate(cancelled_at) AS cancelled_on FROM $db.policy_cancellations FINAL) AS x
    ON x.policy_id = t.policy_id
WHERE t.term_end <= as_of AND t.customer_id != '' AND (x.cancelled_on IS NULL OR x.cancelled_on >= t.term_end)
"""


async def matured_renewals(store: Store, *, as_of: date) -> list[Row]:
    """Every renewal decision that has matured: (customer, term end, renewed)."""
    return await store.query(MATURED_SQL, {"as_of": as_of.isoformat()})
