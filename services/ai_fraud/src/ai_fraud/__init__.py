"""ai-fraud: Fraud scoring."""
