"""Building blocks shared by the authenticator's domains: crypto, passwords, request context."""
