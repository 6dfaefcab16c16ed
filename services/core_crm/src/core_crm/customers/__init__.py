"""Customers: CRUD, search, stats, segmentation, merge, timeline and GDPR export/erasure."""
