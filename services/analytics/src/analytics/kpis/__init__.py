"""KPIs: the insurance figures of docs/analytics.md, by carrier, line, province, agent and period."""
