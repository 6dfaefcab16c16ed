"""Two-factor authentication: TOTP enrolment, recovery codes, login challenges."""
