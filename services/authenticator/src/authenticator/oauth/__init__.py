"""OAuth / OpenID Connect login and account linking (Google, Microsoft)."""
