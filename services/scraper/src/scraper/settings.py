"""Configuration of scraper (shared AINTECH_* variables plus SCRAPER_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="scraper"):
    """Name, schema, port and the SCRAPER_ prefix come from the fleet registry."""
