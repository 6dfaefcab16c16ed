"""Security audit log."""
