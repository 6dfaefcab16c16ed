"""Sessions: login, 2FA challenge exchange, refresh, logout and the session list."""
