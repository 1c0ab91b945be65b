"""`ksym`: a kernel address (8 bytes, e.g. PT_REGS_IP or timer->function) -> function name."""

from __future__ import annotations

from collector.decoders import kallsyms
from collector.decoders.base import Decoder, host_uint


class KsymDecoder(Decoder):
    name = "ksym"

    def decode(self, value: bytes) -> bytes:
        addr = host_uint(value, (8,), "ksym")
        name = kallsyms.shared().lookup(addr) if addr else None
        return (name or f"unknown_addr:0x{addr:x}").encode()
