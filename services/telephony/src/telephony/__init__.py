"""telephony: Twilio voice: calls, queues, agents."""
