"""Agents: status (available, busy, away, offline), history and statistics."""
