"""WebRTC signalling: an authenticated WebSocket room per call relaying offer, answer and ICE."""
