"""The unified inbox: one conversation per contact and channel, with status, assignee, labels, notes."""
