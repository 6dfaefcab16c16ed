"""Building blocks every domain of quote_engine may use; imports no domain."""
