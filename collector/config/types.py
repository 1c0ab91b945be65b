"""Reusable validated config field types."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h)?\s*$")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """'5s', '250ms', '1m', or a bare number of seconds -> seconds as float."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 5s, 250ms or 1m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    else:
        raise ValueError(f"expected a duration like 5s, 250ms or 1m, got {value!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written in YAML as `5s`, `250ms`, `1m` or a number."""


def parse_endpoint(value: object) -> str:
    if not isinstance(value, str) or ":" not in value:
        raise ValueError(f"expected host:port, got {value!r}")
    port = value.rpartition(":")[2]
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"expected host:port with a port number 0-65535, got {value!r}")
    return value


Endpoint = Annotated[str, BeforeValidator(parse_endpoint)]
"""`host:port` to listen on or connect to."""


def split_endpoint(endpoint: str) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)
