"""The Twilio port: the REST adapter (official SDK), the console adapter, TwiML and signatures."""
