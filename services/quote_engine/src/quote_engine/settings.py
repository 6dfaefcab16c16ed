"""Configuration of quote_engine (shared AINTECH_* variables plus QUOTE_ENGINE_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="quote_engine"):
    """Name, schema, port and the QUOTE_ENGINE_ prefix come from the fleet registry."""
