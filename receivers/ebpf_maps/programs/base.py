from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from collector.bpf import BpfObject
from collector.model import Metric

# (loaded object, start time ns, now ns) -> metrics, cumulative since start
Collect = Callable[[BpfObject, int, int], list[Metric]]


@dataclass(frozen=True, slots=True)
class MapProgram:
    name: str
    description: str
    object: str  # bpf/<object>.bpf.c
    collect: Collect
