"""Building blocks shared by telephony's domains: base tables, phones, request URLs, runtime."""
