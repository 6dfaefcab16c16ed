"""scraper: Carrier-portal jobs."""
