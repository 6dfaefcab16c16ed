"""Customers confirming their renewals (omnichannel's `renewal.confirmed`)."""
