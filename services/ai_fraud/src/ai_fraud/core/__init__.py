"""Building blocks every domain of ai_fraud may use; imports no domain."""
