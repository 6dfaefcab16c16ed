"""The proxy pool: rotation (least recently used healthy proxy), health checks, cooldown after a
ban or CAPTCHA page; credentials encrypted at rest, never returned."""
