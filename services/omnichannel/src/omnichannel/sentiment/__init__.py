"""Sentiment of a customer's message (Spanish and English) from a lexicon shipped in the repo."""
