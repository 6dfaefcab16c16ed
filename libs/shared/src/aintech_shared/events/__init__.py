"""Messaging runtime: the transactional outbox and relay (``outbox``), the consumers
(``consumer``), outage-versus-poison classification (``faults``), the messaging tables
(``tables``). Dead letters are listed and replayed with ``python -m aintech_shared.dlq``.

The envelope and the event catalogue are contracts: ``aintech_contracts.envelope`` and
``aintech_contracts.events``.
"""
