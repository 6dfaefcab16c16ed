"""Building blocks shared by the CRM's domains: base, runtime, access, validation, pagination."""
