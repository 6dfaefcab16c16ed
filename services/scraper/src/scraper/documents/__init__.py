"""Carrier policy documents: PDFs read into fields, each with a confidence; unreadable fields flagged."""
