from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from collector.bpf.stats import BpfStatsOption
from collector.component import ComponentConfig
from collector.config import Duration
from collector.mapmetrics import MetricsSpec

AttachKind = Literal["tp_btf", "fentry", "raw_tp", "kprobe", "tracepoint"]
NAME = r"^[A-Za-z0-9_.-]+$"


class SocketAttach(ComponentConfig):
    """Where SEC("socket") programs go: a raw packet socket (AF_PACKET, all protocols)."""

    interface: str | None = Field(None, description="network interface, e.g. lo or eth0 (default: every interface)")

    @field_validator("interface")
    @classmethod
    def _empty_is_all(cls, value: str | None) -> str | None:
        return value or None  # `${env:IFACE:-}` left empty means every interface


class ProgramConfig(ComponentConfig):
    """One program: `<name>.bpf.o` and its metrics, as ebpf_exporter lays them out."""

    name: str = Field(pattern=NAME, description="program name: <name>.bpf.o and <name>.yaml")
    object: Path | None = Field(
        None, description="the compiled CO-RE object (default: <config_dir>/<name>.bpf.o, else the built-in one)"
    )
    config: Path | None = Field(
        None, description="its ebpf_exporter config (default: <config_dir>/<name>.yaml, else the built-in one)"
    )
    metrics: MetricsSpec | None = Field(None, description="metrics inline, in ebpf_exporter's schema (replaces config)")
    socket: SocketAttach = Field(SocketAttach(), description="for socket filter programs: which interface")


class EbpfProgramsConfig(BpfStatsOption):
    """Run ebpf_exporter programs unchanged: compiled objects plus their metric configs."""

    config_dir: Path | None = Field(None, description="directory of <name>.yaml + <name>.bpf.o (--config.dir)")
    names: list[str] = Field(default_factory=list, description="programs to run from config_dir (--config.names)")
    programs: list[ProgramConfig] = Field(default_factory=list, description="programs described here")
    interval: Duration = Field(5.0, gt=0, description="how often maps are read")
    metric_prefix: str = Field(
        "ebpf_exporter_", pattern=r"^[A-Za-z0-9_]*$", description="prepended to metric names, as ebpf_exporter does"
    )
    node_label: str | None = Field(
        None, description="add this label with the node name ($NODE_NAME, else the hostname) to every series"
    )
    attach: list[AttachKind] | None = Field(None, description="attach kinds allowed, when a preferred one misbehaves")

    @model_validator(mode="after")
    def _programs(self) -> EbpfProgramsConfig:
        if not self.names and not self.programs:
            raise ValueError("name at least one program: `names` (with config_dir) or `programs`")
        all_names = self.names + [p.name for p in self.programs]
        dupes = sorted({n for n in all_names if all_names.count(n) > 1})
        if dupes:
            raise ValueError(f"program {dupes[0]!r} is listed twice")
        for name in self.names:
            if not name or "/" in name:
                raise ValueError(f"names are file names without .yaml, got {name!r}")
        return self

    def all_programs(self) -> list[tuple[str, ProgramConfig]]:
        """(config path for messages, program) for `names` and `programs` alike."""
        out = [(f"names[{i}]", ProgramConfig(name=n)) for i, n in enumerate(self.names)]
        out += [(f"programs[{i}]", p) for i, p in enumerate(self.programs)]
        return out
