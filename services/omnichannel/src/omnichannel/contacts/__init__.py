"""The local read model of CRM customers and platform users, fed by their events."""
