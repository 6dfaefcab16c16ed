"""Provider webhooks: Twilio Messaging (inbound, status) and SendGrid (inbound parse, events)."""
