"""AINTECH development tooling: test fixtures' building blocks and documentation generators.

Installed in the development environment only (the root dev dependency group); production images
do not carry it, and `make lint` forbids services from importing it.
"""
