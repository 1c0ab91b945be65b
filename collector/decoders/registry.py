"""Decoder name -> class. One line per decoder."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.decoders.base import Decoder

DECODERS: dict[str, str] = {
    "cgroup": "collector.decoders.cgroup:CgroupDecoder",
    "dname": "collector.decoders.dname:DnameDecoder",
    "errno": "collector.decoders.errno:ErrnoDecoder",
    "hex": "collector.decoders.hex:HexDecoder",
    "ifname": "collector.decoders.ifname:IfnameDecoder",
    "inet_ip": "collector.decoders.inet_ip:InetIpDecoder",
    "ksym": "collector.decoders.ksym:KsymDecoder",
    "kstack": "collector.decoders.kstack:KstackDecoder",
    "majorminor": "collector.decoders.majorminor:MajorMinorDecoder",
    "regexp": "collector.decoders.regexp:RegexpDecoder",
    "static_map": "collector.decoders.static_map:StaticMapDecoder",
    "string": "collector.decoders.string:StringDecoder",
    "syscall": "collector.decoders.syscall:SyscallDecoder",
    "uint": "collector.decoders.uint:UintDecoder",
    "uint64": "collector.decoders.uint:UintDecoder",  # older ebpf_exporter configs
}


def decoder_class(name: str) -> type[Decoder]:
    import importlib

    module, _, attr = DECODERS[name].partition(":")
    cls: type[Decoder] = getattr(importlib.import_module(module), attr)
    return cls
