"""Building blocks shared by the domains: crypto, passwords, request context, the runtime protocols."""
