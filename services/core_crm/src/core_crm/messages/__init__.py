"""Customer-facing text the CRM writes itself (the quote e-mail), as templates in Spanish and English."""
