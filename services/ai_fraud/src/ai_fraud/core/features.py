"""The feature catalogue: every fact about a claim that rules may test and models may learn from.

One place names each feature, its type and its wording in Spanish and English, so a rule's
condition is validated against it, an explanation can say what a feature means, and the model's
feature schema (and its digest) is derived from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

FeatureType = Literal["number", "bool", "string"]


@dataclass(frozen=True)
class Feature:
    name: str
    type: FeatureType
    es: str
    en: str
    model: bool = False  # part of the model's input vector
    missing: float = 0.0  # the model's value when the fact is unknown


FEATURES: dict[str, Feature] = {
    f.name: f
    for f in (
        Feature(
            "days_since_policy_start",
            "number",
            "días desde el inicio de la póliza",
            "days since the policy started",
            model=True,
            missing=365.0,
        ),
        Feature("days_to_policy_end", "number", "días hasta el fin de la póliza", "days to the policy's end"),
        Feature("claimed_amount", "number", "importe reclamado (€)", "claimed amount (€)", model=True),
        Feature("coverage_amount", "number", "capital asegurado (€)", "coverage limit (€)"),
        Feature(
            "amount_to_coverage_ratio",
            "number",
            "importe reclamado / capital asegurado",
            "claimed amount / coverage limit",
            model=True,
        ),
        Feature(
            "claims_last_12m",
            "number",
            "otros siniestros del cliente en 12 meses",
            "the customer's other claims in 12 months",
            model=True,
        ),
        Feature("incident_hour", "number", "hora local del siniestro", "local hour of the incident"),
        Feature(
            "night_incident", "bool", "siniestro de noche (22-6 h)", "incident at night (22-6 h)", model=True
        ),
        Feature(
            "police_report",
            "bool",
            "hay denuncia policial",
            "a police report was filed",
            model=True,
            missing=0.5,
        ),
        Feature("witnesses", "number", "número de testigos", "number of witnesses", model=True),
        Feature(
            "days_since_iban_change",
            "number",
            "días desde el cambio de cuenta bancaria",
            "days since the bank account changed",
            model=True,
            missing=730.0,
        ),
        Feature(
            "days_since_address_change",
            "number",
            "días desde el cambio de dirección",
            "days since the address changed",
            model=True,
            missing=730.0,
        ),
        Feature(
            "days_to_report",
            "number",
            "días entre el siniestro y su comunicación",
            "days between incident and report",
            model=True,
        ),
        Feature("claim_type", "string", "tipo de siniestro", "claim type"),
        Feature("policy_type", "string", "tipo de póliza", "policy type"),
        Feature(
            "damage_inconsistent_with_cover",
            "bool",
            "daño incoherente con la cobertura",
            "damage inconsistent with the cover",
            model=True,
        ),
        Feature(
            "ring_customers",
            "number",
            "clientes en la red de identificadores compartidos",
            "customers in the shared-identifier ring",
            model=True,
            missing=1.0,
        ),
        Feature("ring_claims", "number", "siniestros en la red", "claims in the ring"),
        Feature(
            "ring_flagged_share",
            "number",
            "parte de siniestros señalados en la red",
            "share of flagged claims in the ring",
        ),
    )
}

MODEL_FEATURES: tuple[str, ...] = tuple(name for name, f in FEATURES.items() if f.model)

FeatureValue = float | bool | str | None
FeatureVector = dict[str, FeatureValue]


def feature_schema_digest(names: tuple[str, ...] = MODEL_FEATURES) -> str:
    """SHA-256 of the model's ordered input columns and their types: a model trained on another
    schema is refused."""
    text = "|".join(f"{n}:{FEATURES[n].type}" for n in names)
    return hashlib.sha256(text.encode()).hexdigest()


def model_row(features: FeatureVector, names: tuple[str, ...] = MODEL_FEATURES) -> list[float]:
    """The model's numeric input for one claim (unknown facts get the feature's neutral value)."""
    row: list[float] = []
    for name in names:
        value = features.get(name)
        if value is None or isinstance(value, str):
            row.append(FEATURES[name].missing)
        else:
            row.append(float(value))
    return row
