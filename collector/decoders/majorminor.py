"""`majorminor`: a block device number as the kernel encodes it in a u32
(new_encode_dev: minor low byte, major, minor high bits) -> its name (`vda`).

Names come from /sys/dev/block/<major>:<minor>/uevent (DEVNAME), falling back to
/proc/partitions; unknown devices become `unknown:<major>:<minor>`, not cached."""

from __future__ import annotations

import sys
from pathlib import Path

from collector.decoders.base import Decoder, DecoderContext, DecoderError
from collector.decoders.spec import DecoderSpec

SYS_DEV_BLOCK = Path("/sys/dev/block")
PROC_PARTITIONS = Path("/proc/partitions")


def split_dev(dev: int) -> tuple[int, int]:
    """The kernel's new_decode_dev for the u32 form."""
    return (dev & 0xFFF00) >> 8, (dev & 0xFF) | ((dev >> 12) & 0xFFF00)


def device_name(major: int, minor: int) -> str | None:
    try:
        for line in (SYS_DEV_BLOCK / f"{major}:{minor}" / "uevent").read_text().splitlines():
            if line.startswith("DEVNAME="):
                return line.partition("=")[2]
    except OSError:
        pass
    try:
        for line in PROC_PARTITIONS.read_text().splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[0] == str(major) and fields[1] == str(minor):
                return fields[3]
    except OSError:
        pass
    return None


class MajorMinorDecoder(Decoder):
    name = "majorminor"
    pure = False

    def __init__(self, spec: DecoderSpec, ctx: DecoderContext) -> None:
        super().__init__(spec, ctx)
        self.cache: dict[int, bytes] = {}

    def decode(self, value: bytes) -> bytes:
        if len(value) < 4:
            raise DecoderError(f"majorminor expects a 4-byte device number, got {len(value)} bytes")
        dev = int.from_bytes(value[:4], sys.byteorder)
        name = self.cache.get(dev)
        if name is None:
            major, minor = split_dev(dev)
            found = device_name(major, minor)
            if found is None:
                return f"unknown:{major}:{minor}".encode()
            name = self.cache[dev] = found.encode()
        return name
