"""Configuration of ai_fraud (shared AINTECH_* variables plus AI_FRAUD_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="ai_fraud"):
    """Name, schema, port and the AI_FRAUD_ prefix come from the fleet registry."""
