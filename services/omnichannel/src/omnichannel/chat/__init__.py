"""Live chat: REST endpoints, the WebSocket room protocol and the embeddable customer page."""
