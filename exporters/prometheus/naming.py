"""OpenTelemetry -> Prometheus names, after the OTel spec's Prometheus compatibility
rules: invalid characters replaced, unit suffixes (`_seconds`, `_bytes`, ...),
`_ratio` on dimensionless gauges and `_total` on monotonic counters, never doubled.
Shared by the `prometheus` and `prometheus_remote_write` exporters."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from collector.model import AttrValue

_INVALID_METRIC = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]+")
_ANNOTATION = re.compile(r"\{[^}]*\}")

# UCUM units that OTel uses -> Prometheus unit words (the OTel spec's table).
UNIT_WORDS: dict[str, str] = {
    # time
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    # bytes
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "bit": "bits",
    # SI
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    # misc
    "Cel": "celsius",
    "Hz": "hertz",
    "%": "percent",
    "1": "",  # dimensionless: gauges get `_ratio`, see metric_name
}

# Denominators of `x/y` units read as "per <word>" (so `m` is a minute here, not a meter).
PER_UNIT_WORDS: dict[str, str] = {
    "s": "second",
    "m": "minute",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}


def unit_suffix(unit: str) -> str:
    """The Prometheus suffix for an OTel unit: `s` -> `seconds`, `By/s` -> `bytes_per_second`,
    `{packets}` -> `` (annotations in braces carry no unit)."""
    unit = _ANNOTATION.sub("", unit).strip()
    if not unit:
        return ""
    if "/" in unit:
        num, _, den = unit.partition("/")
        num_word = UNIT_WORDS.get(num, num)
        den_word = PER_UNIT_WORDS.get(den, UNIT_WORDS.get(den, den))
        suffix = f"{num_word}_per_{den_word}" if num_word else f"per_{den_word}"
    else:
        suffix = UNIT_WORDS.get(unit, unit)
    return _INVALID_METRIC.sub("_", suffix).strip("_")


@lru_cache(maxsize=4096)
def metric_name(name: str, unit: str = "", counter: bool = False, gauge: bool = False) -> str:
    out = _INVALID_METRIC.sub("_", name).strip("_") or "_"
    if out[0].isdigit():
        out = "_" + out
    if counter and out.endswith("_total"):
        out = out[: -len("_total")]
    suffix = "ratio" if unit == "1" and gauge else unit_suffix(unit)
    if suffix and not out.endswith("_" + suffix):
        out += "_" + suffix
    if counter:
        out += "_total"
    return out


@lru_cache(maxsize=4096)
def label_name(key: str) -> str:
    out = _INVALID_LABEL.sub("_", key) or "_"
    if out[0].isdigit():
        out = "key_" + out
    if out.startswith("__") and not out.startswith("___"):
        out = "_" + out.lstrip("_")  # `__` is reserved for Prometheus internals
    return out


def label_text(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def label_pairs(items: Iterable[tuple[str, AttrValue]]) -> list[tuple[str, str]]:
    """Attributes -> sanitized (label, value) pairs sorted by label name. Two attributes
    that sanitize to one label name have their values joined with `;`, as the OTel spec says."""
    merged: dict[str, str] = {}
    for key, value in items:
        name = label_name(key)
        text = label_text(value)
        merged[name] = f"{merged[name]};{text}" if name in merged else text
    return sorted(merged.items())
