"""`inet_ip`: 4 bytes -> IPv4 text, 16 bytes -> IPv6 text (IPv4-mapped IPv6 shown as IPv4)."""

from __future__ import annotations

import ipaddress

from collector.decoders.base import Decoder, DecoderError


class InetIpDecoder(Decoder):
    name = "inet_ip"

    def decode(self, value: bytes) -> bytes:
        if len(value) == 4:
            return str(ipaddress.IPv4Address(value)).encode()
        if len(value) == 16:
            v6 = ipaddress.IPv6Address(value)
            return str(v6.ipv4_mapped or v6).encode()
        raise DecoderError(f"inet_ip expects 4 (IPv4) or 16 (IPv6) bytes, got {len(value)}")
