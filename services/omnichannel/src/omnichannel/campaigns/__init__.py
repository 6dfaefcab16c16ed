"""Campaigns: a template to a CRM segment over e-mail or WhatsApp, throttled and resumable."""
