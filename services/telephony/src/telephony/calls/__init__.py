"""Calls: outbound, accept, end, transfer, hold, mute, recording; the call state machine."""
