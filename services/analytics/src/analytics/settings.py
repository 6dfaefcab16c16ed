"""Configuration of analytics (shared AINTECH_* variables plus ANALYTICS_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="analytics"):
    """Name, schema, port and the ANALYTICS_ prefix come from the fleet registry."""
