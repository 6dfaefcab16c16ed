"""Prices the carriers' portals showed (the scraper's ``carrier.price_observed``), shown in a
comparison beside the tariff price with their age."""
