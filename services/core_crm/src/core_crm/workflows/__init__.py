"""Workflows: versioned definitions, durable executions with retries, waits and webhooks."""
