"""AINTECH contracts: what producers and consumers across the fleet agree on.

The CloudEvents envelope, the event catalogue (one module per bounded context), the status
vocabularies (``statuses``), roles and permissions, and the fleet registry. Depends on pydantic only;
no runtime machinery.
"""
