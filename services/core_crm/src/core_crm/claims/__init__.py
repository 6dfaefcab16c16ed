"""Claims: an enforced state machine, adjuster assignment, documents, notes and history."""
