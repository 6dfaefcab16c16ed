"""The call queue: priority then age, positions, assignment, escalation, abandonment."""
