"""Messaging runtime: the transactional outbox and relay, the consumers, the messaging tables.

The envelope and the event catalogue are contracts: ``aintech_contracts.envelope`` and
``aintech_contracts.events``.
"""
