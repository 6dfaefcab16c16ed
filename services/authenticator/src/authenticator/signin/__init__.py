"""Sign-in: password and second factor, provider sign-ins finishing here, refresh-token rotation."""
