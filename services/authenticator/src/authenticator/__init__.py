"""authenticator: Users, sessions, tokens, OAuth, 2FA, RBAC, audit."""
