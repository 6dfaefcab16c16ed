"""Who is calling: the client address, scheme and host, believing X-Forwarded-* only from trusted proxies."""

from __future__ import annotations

import ipaddress

from gateway.settings import Settings


class TrustedProxies:
    """The proxies in front of the gateway (an ingress, a load balancer) whose headers are believed."""

    def __init__(self, settings: Settings) -> None:
        self.networks = [ipaddress.ip_network(n, strict=False) for n in settings.trusted_proxies]
        self._known: dict[str, bool] = {}

    def trusted(self, ip: str) -> bool:
        known = self._known.get(ip)
        if known is not None:
            return known
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        result = any(address in network for network in self.networks)
        if len(self._known) > 4096:
            self._known.clear()
        self._known[ip] = result
        return result

    def client_ip(self, peer: str, forwarded_for: str | None) -> str:
        """The right-most X-Forwarded-For hop that a trusted proxy did not add (the peer otherwise)."""
        if not forwarded_for or not self.trusted(peer):
            return peer
        hops = [h.strip() for h in forwarded_for.split(",")]
        for hop in reversed(hops):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer
            if not self.trusted(hop):
                return hop
        return hops[0] if hops and hops[0] else peer

    def forwarded_for(self, peer: str, prior: str | None) -> str:
        """X-Forwarded-For for the service: extended when the peer is a trusted proxy, replaced otherwise."""
        if prior and self.trusted(peer):
            return f"{prior}, {peer}"
        return peer
