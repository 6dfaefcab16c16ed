"""GDPR: a customer's data exported (access, portability) or erased (anonymised)."""
