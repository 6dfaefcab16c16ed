"""Configuration of telephony (shared AINTECH_* variables plus TELEPHONY_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="telephony"):
    """Name, schema, port and the TELEPHONY_ prefix come from the fleet registry."""
