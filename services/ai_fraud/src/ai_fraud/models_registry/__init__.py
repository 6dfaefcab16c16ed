"""models_registry."""
