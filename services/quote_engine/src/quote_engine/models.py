"""Every table of the service's schema (the Alembic environment and drift test read this)."""

from quote_engine.churn.models import CustomerChurn
from quote_engine.core.base import MESSAGING, Base
from quote_engine.observed.models import ObservedPrice
from quote_engine.optimax.models import CustomerPolicy
from quote_engine.quotes.models import Calculation
from quote_engine.tariffs.models import CarrierProduct, ReceiptTaxRow, TariffGeneration, TariffVersion

__all__ = [
    "MESSAGING",
    "Base",
    "Calculation",
    "CarrierProduct",
    "CustomerChurn",
    "CustomerPolicy",
    "ObservedPrice",
    "ReceiptTaxRow",
    "TariffGeneration",
    "TariffVersion",
]
