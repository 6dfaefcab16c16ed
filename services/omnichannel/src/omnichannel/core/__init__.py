"""Building blocks shared by omnichannel's domains: base, request context, limits, live events."""
