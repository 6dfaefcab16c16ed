"""Interactions: every call, e-mail, SMS, WhatsApp, meeting and chat on the customer's timeline."""
