"""Users: the account records every other domain reads (identity, role, status, second factor)."""
