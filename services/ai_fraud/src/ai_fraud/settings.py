"""Configuration of ai_fraud (shared AINTECH_* variables plus AI_FRAUD_* ones)."""

from __future__ import annotations

from pydantic import Field, model_validator

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="ai_fraud"):
    """Name, schema, port and the AI_FRAUD_ prefix come from the fleet registry."""

    review_threshold: int = Field(
        default=40, ge=1, le=99, description="Score from which a claim needs review."
    )
    high_threshold: int = Field(
        default=70, ge=2, le=100, description="Score from which `fraud.alert` is sent."
    )
    model_weight: float = Field(
        default=0.8, ge=0, le=1, description="Share of the model's probability that counts as points."
    )
    ring_max_identifier_share: int = Field(
        default=25,
        ge=2,
        le=10_000,
        description="An identifier shared by more customers than this (a placeholder phone, a big "
        "workshop) links nobody.",
    )
    ring_max_nodes: int = Field(default=400, ge=10, le=20_000, description="Largest ring explored per score.")
    training_max_rows: int = Field(default=200_000, ge=100, le=2_000_000)

    @model_validator(mode="after")
    def _ordered(self) -> Settings:
        if self.review_threshold >= self.high_threshold:
            raise ValueError("review_threshold must be below high_threshold")
        return self
