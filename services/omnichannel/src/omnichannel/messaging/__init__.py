"""Messages on every channel: storing, sending (queued for the dispatcher), status, opt-outs, limits."""
