"""Delivery: the dispatcher that hands queued messages to providers, and the event consumers."""
