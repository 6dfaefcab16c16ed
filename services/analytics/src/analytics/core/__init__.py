"""Building blocks every domain of analytics may use; imports no domain."""
