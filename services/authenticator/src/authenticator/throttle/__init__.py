"""Login throttling per account and per IP, shared by every replica through Postgres."""
