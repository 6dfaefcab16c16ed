"""Configuration of omnichannel (shared AINTECH_* variables plus OMNICHANNEL_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="omnichannel"):
    """Name, schema, port and the OMNICHANNEL_ prefix come from the fleet registry."""
