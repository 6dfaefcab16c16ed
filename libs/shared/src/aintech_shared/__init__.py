"""AINTECH shared library: settings, database, events, auth, errors and observability."""
