"""Local read model of the authenticator's accounts: customers to link, staff to assign."""
