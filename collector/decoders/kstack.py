"""`kstack`: a kernel stack -> its function names, innermost first, one per line.

Two inputs:
  * an array of 8-byte return addresses in the key, ended by a zero
    (bpf_get_stack into the key; ebpf_exporter's form);
  * with `stack_map: <map>`, a stack id from bpf_get_stackid (4 or 8 bytes, or
    the uint decoder's text), looked up in that BPF_MAP_TYPE_STACK_TRACE map."""

from __future__ import annotations

import sys

from collector.decoders import kallsyms
from collector.decoders.base import Decoder, DecoderContext, DecoderError, host_uint
from collector.decoders.spec import DecoderSpec


class KstackDecoder(Decoder):
    name = "kstack"

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        if spec.stack_map and ctx.lookup is None:
            raise DecoderError("kstack: `stack_map` needs the maps of a loaded BPF object")
        # Stack ids are reused by the kernel for other stacks after eviction.
        self.pure = not spec.stack_map

    def decode(self, value: bytes) -> bytes:
        if self.spec.stack_map:
            value = self._stack_by_id(value)
        addrs: list[int] = []
        for off in range(0, len(value) - len(value) % 8, 8):
            addr = int.from_bytes(value[off : off + 8], sys.byteorder)
            if addr == 0:
                break
            addrs.append(addr)
        if not addrs:
            return b""
        names = kallsyms.shared().lookup_many(addrs)
        return "\n".join(n or "??" for n in names).encode()

    def _stack_by_id(self, value: bytes) -> bytes:
        stack_id = int(value) if value.isdigit() else host_uint(value, (4, 8), "kstack stack id")
        if stack_id & 0x80000000:  # negative s32: bpf_get_stackid failed (-EFAULT, -EEXIST)
            raise DecoderError(f"kstack: stack id {stack_id - (1 << 32) if stack_id < 1 << 32 else stack_id}")
        assert self.ctx.lookup is not None and self.spec.stack_map is not None
        frames = self.ctx.lookup(self.spec.stack_map, (stack_id & 0xFFFFFFFF).to_bytes(4, sys.byteorder))
        return frames or b""
