"""Accounts: registration, e-mail verification, profile, password change and reset."""
