"""Fraud on claims as the CRM sees it: the latest score and band (read model of `fraud.scored`) and
the supervisor's investigation task opened by `fraud.alert`. Staff with `fraud:review` only."""
