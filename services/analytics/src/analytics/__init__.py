"""analytics: KPIs and reports."""
