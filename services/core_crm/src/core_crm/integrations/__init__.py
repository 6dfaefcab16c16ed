"""Outbound webhooks (HubSpot/Zapier-style): admins subscribe URLs to the CRM's business events."""
