"""The unified inbox API: conversations across channels, assignment, notes, replies, agents."""
