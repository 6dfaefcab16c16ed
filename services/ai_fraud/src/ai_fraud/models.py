"""Every table of the `fraud` schema (what Alembic compares migrations with)."""

from ai_fraud.cases.models import Case, CaseNote
from ai_fraud.core.base import MESSAGING, Base
from ai_fraud.models_registry.models import ModelVersion, TrainingJob
from ai_fraud.photos.models import Photo
from ai_fraud.readmodel.models import FraudClaim, FraudCustomer, FraudPolicy, Identifier
from ai_fraud.rings.models import Ring
from ai_fraud.rules.models import Rule, RulesGeneration, RuleVersion
from ai_fraud.scoring.models import Score

__all__ = [
    "MESSAGING",
    "Base",
    "Case",
    "CaseNote",
    "FraudClaim",
    "FraudCustomer",
    "FraudPolicy",
    "Identifier",
    "ModelVersion",
    "Photo",
    "Ring",
    "Rule",
    "RuleVersion",
    "RulesGeneration",
    "Score",
    "TrainingJob",
]
