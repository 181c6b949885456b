"""Who a request comes from: the peer, or behind trusted reverse proxies the client they name.

X-Forwarded-For is written by whoever sends the request: every hop appends the address it
received the request from, and a client can put anything before that (RFC 7239, section 8.1:
any node on the way, the client included, may alter such a list). So it is read only when the
peer is a proxy listed in `web.trusted_proxies`, and then from the right: the first address
that is not a trusted proxy is the client (MDN, "X-Forwarded-For: Selecting an IP address").
Only the sign-in throttle depends on the answer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_HOP = 64  # characters kept of an entry that is no address (a key, never shown)


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The networks of `web.trusted_proxies` (validated when the settings were loaded)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def parse_address(text: str) -> Address | None:
    """An address as hops write it: bare, `[v6]`, `[v6]:port` or `v4:port`; else None."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_trusted(address: Address | None, proxies: Sequence[Network]) -> bool:
    """Whether the address is one of the trusted proxies."""
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in proxies)


def client_address(peer: str | None, forwarded: Sequence[str], proxies: Sequence[Network]) -> str:
    """The client's address: the peer's, or, if the peer is a trusted proxy, the rightmost
    address of the X-Forwarded-For headers (`forwarded`, in order) that is not."""
    if peer is None:
        return "unknown"
    if not proxies or not is_trusted(parse_address(peer), proxies):
        return peer
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = parse_address(hop)
        if not is_trusted(address, proxies):
            return str(address) if address is not None else hop[:MAX_HOP]
    # Only proxies: the request began at one of them (or the list was empty).
    return hops[0][:MAX_HOP] if hops else peer
