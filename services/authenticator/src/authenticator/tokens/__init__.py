"""Tokens: RS256 signing keys, JWKS, access tokens and rotating refresh tokens."""
