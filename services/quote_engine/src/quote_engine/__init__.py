"""quote-engine: Rating and quotes."""
