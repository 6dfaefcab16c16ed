"""Call recordings kept by the platform: copied from the provider, played back, purged."""
