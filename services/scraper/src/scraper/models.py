"""Tables of the `scraper` schema (imported here so Alembic sees the whole metadata)."""

from scraper.carriers.models import PortalAccount
from scraper.core.base import MESSAGING, Base
from scraper.proxies.models import Proxy
from scraper.results.models import Result
from scraper.schedules.models import Schedule
from scraper.scrape_jobs.models import Artifact, CarrierLimit, Job

__all__ = [
    "MESSAGING",
    "Artifact",
    "Base",
    "CarrierLimit",
    "Job",
    "PortalAccount",
    "Proxy",
    "Result",
    "Schedule",
]
