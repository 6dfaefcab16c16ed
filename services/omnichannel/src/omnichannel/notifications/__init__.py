"""The notification centre: per-user in-app notifications, live over WebSocket, with preferences."""
