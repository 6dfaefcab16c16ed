"""The provider port: Twilio Messaging and SendGrid adapters, and console adapters that record."""
