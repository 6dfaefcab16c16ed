"""Sessions: one per signed-in device, the caller of every authenticated request, sign-out and revocation."""
