"""Local read model of the CRM's customers and open claims, fed by the CRM's events."""
