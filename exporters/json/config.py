from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from collector.component import ComponentConfig

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B?|B)?\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def parse_size(value: object) -> int:
    """Bytes: a number, or `512KiB`, `100MiB`, `1GB` (KiB/MiB are powers of 1024, KB/MB of 1000)."""
    if isinstance(value, bool):
        raise ValueError("expected a size like 100MiB")
    if isinstance(value, int):
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"expected a size like 512KiB, 100MiB or 1GB, got {value!r}")
    unit = (match.group(2) or "").upper()
    prefix = unit[0] if unit and unit != "B" else ""
    factor = 1024 ** ("KMGT".index(prefix) + 1) if "I" in unit else _FACTORS[prefix]
    return int(float(match.group(1)) * factor)


ByteSize = Annotated[int, BeforeValidator(parse_size)]


class RotationConfig(ComponentConfig):
    max_size: ByteSize = Field(100 * 1024**2, gt=0, description="rotate the file before it grows past this")
    max_backups: int = Field(5, ge=0, description="rotated files kept as <path>.1 (newest) .. <path>.N")


class JsonConfig(ComponentConfig):
    path: str = Field("stdout", description="`stdout`, `stderr` or a file to append to")
    format: Literal["flat", "otlp"] = Field(
        "flat",
        description="`flat`: one object per datapoint or event; `otlp`: one OTLP/JSON export request per batch",
    )
    rotation: RotationConfig | None = Field(None, description="rotate the file by size (files only)")

    @model_validator(mode="after")
    def _rotation_needs_a_file(self) -> JsonConfig:
        if self.rotation is not None and self.path in ("stdout", "stderr"):
            raise ValueError(f"rotation needs a file path, not {self.path}")
        return self
