"""Console mode: the Twilio requests the console adapter recorded, for developers and demos."""
