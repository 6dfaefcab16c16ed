"""Messaging runtime: the transactional outbox and relay (``outbox``), the consumers
(``consumer``), outage-versus-poison classification (``faults``), the messaging tables
(``tables``). Dead letters are read and replayed by ``aintech_shared.dlq`` (the command line: ``make dlq``).

The envelope and the event catalogue are contracts: ``aintech_contracts.envelope`` and
``aintech_contracts.events``.
"""
