"""Scraping jobs: queued in Postgres, claimed with leases, retried with backoff, limited per carrier."""
