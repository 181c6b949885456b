"""The client address the sign-in throttle counts: X-Forwarded-For only from trusted proxies,
read from the right, so that no client can pick the address it is counted under."""

from __future__ import annotations

import pytest

from outreach.config import Settings
from outreach.web.proxies import client_address, parse_networks

LOCAL = parse_networks(["127.0.0.1", "::1"])
OFFICE = parse_networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        # No proxy trusted: whatever the header says, the peer is the client.
        ("127.0.0.1", ["198.51.100.7"], (), "127.0.0.1"),
        # A peer that is no trusted proxy cannot speak for others.
        ("203.0.113.9", ["198.51.100.7"], LOCAL, "203.0.113.9"),
        # The proxy appends what it saw; what the client wrote before that is ignored.
        ("127.0.0.1", ["198.51.100.7, 203.0.113.9"], LOCAL, "203.0.113.9"),
        ("127.0.0.1", ["198.51.100.7", "203.0.113.9"], LOCAL, "203.0.113.9"),
        # Through two trusted proxies: the first address they did not write.
        ("127.0.0.1", ["198.51.100.7, 203.0.113.9, 10.1.2.3"], OFFICE, "203.0.113.9"),
        # A forged "trusted" address to the left changes nothing.
        ("127.0.0.1", ["10.9.9.9, 203.0.113.9"], OFFICE, "203.0.113.9"),
        # Ports and brackets as some proxies write them.
        ("127.0.0.1", ["203.0.113.9:51234"], LOCAL, "203.0.113.9"),
        ("::1", ["[2001:db8::7]:443"], LOCAL, "2001:db8::7"),
        ("::ffff:127.0.0.1", ["203.0.113.9"], LOCAL, "203.0.113.9"),
        # Garbage where the proxy's entry should be: counted as that text, never trusted.
        ("127.0.0.1", ["not-an-address"], LOCAL, "not-an-address"),
        # Only proxies, or no header: the request began at the proxy.
        ("127.0.0.1", ["10.1.2.3"], OFFICE, "10.1.2.3"),
        ("127.0.0.1", [], LOCAL, "127.0.0.1"),
        (None, ["198.51.100.7"], LOCAL, "unknown"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote(
    peer: str | None, forwarded: list[str], proxies: tuple[object, ...], client: str
) -> None:
    assert client_address(peer, forwarded, proxies) == client  # type: ignore[arg-type]


def test_a_long_forged_entry_is_cut_short() -> None:
    assert len(client_address("127.0.0.1", ["x" * 10_000], LOCAL)) == 64


def test_a_trusted_proxy_that_is_no_address_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match=r"'proxy\.example\.org' is not an IP address or network"):
        Settings(web={"trusted_proxies": ["proxy.example.org"]})
    assert Settings(web={"trusted_proxies": [" 10.0.0.0/8 "]}).web.trusted_proxies == ["10.0.0.0/8"]
