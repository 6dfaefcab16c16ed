"""Configuration of core_crm (shared AINTECH_* variables plus CORE_CRM_* ones)."""

from aintech_shared.settings import ServiceSettings


class Settings(ServiceSettings, service="core_crm"):
    """Name, schema, port and the CORE_CRM_ prefix come from the fleet registry."""
