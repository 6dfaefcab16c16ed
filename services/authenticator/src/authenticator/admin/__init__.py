"""Administration: users, roles, account status, forced logout, key rotation."""
