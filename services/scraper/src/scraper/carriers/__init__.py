"""Carriers: declarative adapters (YAML, versioned), the engines that run them, portal accounts."""
