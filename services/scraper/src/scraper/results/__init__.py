"""What jobs found: carrier prices, parsed policy documents, portfolio entries."""
