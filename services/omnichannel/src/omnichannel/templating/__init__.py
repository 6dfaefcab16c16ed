"""Message templates (Jinja2, Spanish and English): subject, text, HTML and a short text form."""
