"""Twilio voice webhooks: the inbound IVR, status, recording, dial and conference callbacks."""
