"""Ingest: every domain event into the raw table and the fact tables, batched and idempotent."""
