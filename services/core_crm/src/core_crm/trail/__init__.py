"""Change history: who changed which field of a customer, policy, claim, quote, task or workflow."""
