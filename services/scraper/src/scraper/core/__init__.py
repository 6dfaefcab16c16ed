"""Building blocks every domain of scraper may use; imports no domain."""
