"""gateway: Public entry and router."""
