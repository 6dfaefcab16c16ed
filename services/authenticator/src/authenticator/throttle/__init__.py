"""Throttling shared by every replica through Postgres: failed sign-ins and the flows that send e-mail."""
