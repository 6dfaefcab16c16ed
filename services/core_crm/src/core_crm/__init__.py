"""core-crm: Customers, policies, claims."""
