"""Where a program's object and metric description come from.

ebpf_exporter keeps `<name>.yaml` next to `<name>.bpf.o` in one directory
(--config.dir, --config.names); we look there first, then at the built-in
programs (bpf/.output). An inline `metrics:` replaces the YAML file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from collector.bpf.objects import builtin_object_dir
from collector.config.errors import ConfigError, format_problem
from collector.config.yaml_source import SourcedDocument, dotted, load_yaml
from collector.mapmetrics import MetricsSpec, ProgramFile
from receivers.ebpf_programs.config import EbpfProgramsConfig, ProgramConfig

BUILTIN_SOURCE_DIR = Path(__file__).resolve().parents[2] / "bpf"


class SourceError(Exception):
    """The program's files are missing or its YAML is invalid; one problem per line."""


@dataclass(slots=True)
class ProgramSource:
    name: str
    object: Path
    metrics: MetricsSpec
    where: Callable[[str], str]  # key path in the metrics description -> "file:line:col: path"


def resolve(config: EbpfProgramsConfig, path: str, program: ProgramConfig, receiver: str) -> ProgramSource:
    obj = program.object or _find(config.config_dir, program.name, ".bpf.o")
    if obj is None or not obj.is_file():
        raise SourceError(
            f"{receiver}.{path}: no object for program {program.name!r}: "
            + (f"{obj} does not exist" if obj else f"looked for {program.name}.bpf.o in {_dirs(config.config_dir)}")
        )
    if program.metrics is not None:
        base = f"{receiver}.{path}.metrics"
        return ProgramSource(program.name, obj, program.metrics, lambda p: f"{base}{p.removeprefix('metrics')}")
    yaml_path = program.config or _find(config.config_dir, program.name, ".yaml")
    if yaml_path is None:
        raise SourceError(
            f"{receiver}.{path}: no metrics for program {program.name!r}: give `metrics:` or `config:`, "
            f"or put {program.name}.yaml in {_dirs(config.config_dir)}"
        )
    return ProgramSource(program.name, obj, *_load(yaml_path))


def _load(path: Path) -> tuple[MetricsSpec, Callable[[str], str]]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        doc = load_yaml(text, str(path))
    except ConfigError as exc:
        raise SourceError("\n".join(exc.problems)) from None
    try:
        parsed = ProgramFile.model_validate(doc.data or {})
    except ValidationError as exc:
        raise SourceError("\n".join(_problems(exc, doc))) from None

    def where(key_path: str) -> str:
        parts: list[str | int] = []
        for part in key_path.replace("]", "").replace("[", ".").split("."):
            parts.append(int(part) if part.isdigit() else part)
        return format_problem(doc.position(tuple(parts)), key_path, "").rstrip(": ")

    return parsed.metrics, where


def _problems(exc: ValidationError, doc: SourcedDocument) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        out.append(format_problem(doc.position(loc), dotted(loc), msg))
    return out


def _find(config_dir: Path | None, name: str, suffix: str) -> Path | None:
    for directory in _search_dirs(config_dir):
        candidate = directory / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _search_dirs(config_dir: Path | None) -> list[Path]:
    dirs = [config_dir] if config_dir else []
    return [*dirs, builtin_object_dir(), BUILTIN_SOURCE_DIR]


def _dirs(config_dir: Path | None) -> str:
    return ", ".join(str(d) for d in _search_dirs(config_dir))
