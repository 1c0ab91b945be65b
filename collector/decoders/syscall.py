"""`syscall`: a syscall number (after `uint`) -> its name, from the x86-64 or arm64 table."""

from __future__ import annotations

import platform

from collector.decoders.base import Decoder, DecoderContext, DecoderError, parse_uint
from collector.decoders.spec import DecoderSpec
from collector.syscalls import TABLES


class SyscallDecoder(Decoder):
    name = "syscall"

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        arch = spec.arch or platform.machine()
        if arch not in TABLES:
            raise DecoderError(f"syscall: no syscall table for architecture {arch!r}; known: {', '.join(TABLES)}")
        self.table = TABLES[arch]

    def decode(self, value: bytes) -> bytes:
        number = parse_uint(value, "syscall")
        return self.table.get(number, f"unknown_syscall:{number}").encode()
