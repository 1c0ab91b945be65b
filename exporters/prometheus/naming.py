"""OpenTelemetry -> Prometheus names: invalid characters replaced, unit suffixes
(`_seconds`, `_bytes`, ...) and `_total` on monotonic counters, never doubled."""

from __future__ import annotations

import re
from functools import lru_cache

_INVALID_METRIC = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]+")

# UCUM units that OTel uses -> Prometheus base-unit words.
UNIT_WORDS: dict[str, str] = {
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "By": "bytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "bit": "bits",
    "Hz": "hertz",
    "%": "percent",
    "Cel": "celsius",
    "1": "",  # dimensionless: gauges get `_ratio`, see below
}


def _unit_suffix(unit: str) -> str:
    unit = re.sub(r"\{[^}]*\}", "", unit).strip()  # annotations like {packets} carry no unit
    if not unit:
        return ""
    if "/" in unit:
        num, _, den = unit.partition("/")
        a, b = UNIT_WORDS.get(num, num), UNIT_WORDS.get(den, den).rstrip("s") or den
        return f"{a}_per_{b}" if a else f"per_{b}"
    return UNIT_WORDS.get(unit, unit)


@lru_cache(maxsize=4096)
def metric_name(name: str, unit: str = "", counter: bool = False, gauge: bool = False) -> str:
    out = _INVALID_METRIC.sub("_", name).strip("_") or "_"
    if out[0].isdigit():
        out = "_" + out
    if counter and out.endswith("_total"):
        out = out[: -len("_total")]
    suffix = _INVALID_METRIC.sub("_", _unit_suffix(unit)).strip("_")
    if unit == "1" and gauge:
        suffix = "ratio"
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
