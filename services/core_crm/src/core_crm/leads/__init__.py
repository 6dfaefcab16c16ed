"""Inbound leads: signed webhooks from web forms and Zapier become (or find) a prospect customer."""
