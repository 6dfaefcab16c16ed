"""Calls and messages that matched no customer, kept until they are linked or dismissed."""
