"""Agents' presence and capacity, and round-robin assignment of conversations."""
