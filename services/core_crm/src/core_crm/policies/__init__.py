"""Policies: CRUD, search, cancel, renew (terms kept), expiring soon, coverage checks."""
