"""Quotes: carrier comparison, discounts and surcharges, expiry, conversion to a policy."""
