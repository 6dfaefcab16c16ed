"""Tasks: assign, mine, due today, overdue, complete, cancel."""
