"""From a YAML file to a fully validated CollectorConfig, or a ConfigError that
lists every problem with its file position and key path. No side effects: no BPF
is loaded and no socket is opened, so `validate` is safe anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from collector.component import ComponentConfig, ComponentId, Factory, Kind
from collector.config.errors import ConfigError, format_problem
from collector.config.schema import PipelineSettings, RawConfig, TelemetrySettings
from collector.config.yaml_source import KeyPath, SourcedDocument, dotted, load_yaml
from collector.model import SIGNALS, Signal
from collector.registry import Registry, default_registry

SECTIONS: dict[str, Kind] = {"receivers": "receiver", "processors": "processor", "exporters": "exporter"}


@dataclass(slots=True)
class ComponentSpec:
    id: ComponentId
    kind: Kind
    factory: Factory[Any]
    config: ComponentConfig


@dataclass(slots=True)
class PipelineSpec:
    name: str  # e.g. "metrics" or "metrics/kernel"
    signal: Signal
    settings: PipelineSettings
    receivers: list[ComponentId]
    processors: list[ComponentId]
    exporters: list[ComponentId]


@dataclass(slots=True)
class CollectorConfig:
    source: str
    components: dict[tuple[Kind, ComponentId], ComponentSpec] = field(default_factory=dict)
    pipelines: list[PipelineSpec] = field(default_factory=list)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)

    def get(self, kind: Kind, cid: ComponentId) -> ComponentSpec:
        return self.components[(kind, cid)]


def load_config_file(path: str | Path, registry: Registry = default_registry) -> CollectorConfig:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read config: {exc.strerror}"]) from None
    return load_config_text(text, str(p), registry)


def load_config_text(
    text: str, file: str, registry: Registry = default_registry, env: Mapping[str, str] | None = None
) -> CollectorConfig:
    doc = load_yaml(text, file, env)
    if not isinstance(doc.data, dict):
        raise ConfigError.at(doc.position(()), "", "the config must be a mapping with receivers, exporters and service")
    raw = _validate(RawConfig, doc.data, doc, ())
    return _Builder(doc, raw, registry).build()


def _validate(model: type[BaseModel], data: Any, doc: SourcedDocument, base: KeyPath) -> Any:
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(_problems(exc, doc, base)) from None


def _problems(exc: ValidationError, doc: SourcedDocument, base: KeyPath) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        loc: KeyPath = (*base, *(p for p in err["loc"] if not _is_union_tag(p)))
        message = _humanize(err)
        problems.append(format_problem(doc.position(loc), dotted(loc), message))
    return problems


def _is_union_tag(part: object) -> bool:
    # pydantic inserts the union member's name (e.g. 'str', 'function-after[...]') into loc
    return isinstance(part, str) and ("[" in part or part in {"str", "int", "float", "bool"})


def _humanize(err: Any) -> str:
    kind, msg, value = str(err["type"]), str(err["msg"]), err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key"
    msg = msg.removeprefix("Value error, ")
    if isinstance(value, str | int | float | bool) and repr(value) not in msg:
        msg += f" (got {value!r})"
    return msg


class _Builder:
    def __init__(self, doc: SourcedDocument, raw: RawConfig, registry: Registry) -> None:
        self.doc, self.raw, self.registry = doc, raw, registry
        self.problems: list[str] = []
        self.cfg = CollectorConfig(source=doc.file, telemetry=raw.service.telemetry)

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(format_problem(self.doc.position(path), dotted(path), message))

    def build(self) -> CollectorConfig:
        for section, kind in SECTIONS.items():
            for key, body in getattr(self.raw, section).items():
                self.component(section, kind, key, body)
        for name, settings in self.raw.service.pipelines.items():
            self.pipeline(name, settings)
        if self.problems:
            raise ConfigError(self.problems)
        return self.cfg

    def component(self, section: str, kind: Kind, key: str, body: dict[str, Any] | None) -> None:
        cid = ComponentId.parse(key)
        path: KeyPath = (section, key)
        if not cid.type or (key.count("/") and not cid.name):
            self.problem(path, "component ids look like `type` or `type/name`")
            return
        if not self.registry.has(kind, cid.type):
            known = ", ".join(self.registry.types(kind)) or "none"
            self.problem(path, f"unknown {kind} type {cid.type!r}; known {kind} types: {known}")
            return
        factory = self.registry.get(kind, cid.type)
        try:
            # Components that report errors in embedded text (e.g. C source) ask the
            # validation context where a key of theirs sits in the file.
            context = {"position": lambda rel: self.doc.position((*path, *rel))}
            config = factory.config_model.model_validate(body or {}, context=context)
        except ValidationError as exc:
            self.problems.extend(_problems(exc, self.doc, path))
            return
        self.cfg.components[(kind, cid)] = ComponentSpec(cid, kind, factory, config)

    def pipeline(self, name: str, settings: PipelineSettings) -> None:
        path: KeyPath = ("service", "pipelines", name)
        signal = name.partition("/")[0]
        if signal not in SIGNALS:
            self.problem(path, f"pipeline ids start with one of {', '.join(SIGNALS)} (like metrics/kernel)")
            return
        ids: dict[str, list[ComponentId]] = {}
        for section, kind in SECTIONS.items():
            ids[section] = []
            seen: set[ComponentId] = set()
            for i, key in enumerate(getattr(settings, section)):
                cid = ComponentId.parse(key)
                item_path = (*path, section, i)
                if cid in seen:
                    self.problem(item_path, f"{key!r} is listed twice in this pipeline")
                    continue
                seen.add(cid)
                ids[section].append(cid)
                spec = self.cfg.components.get((kind, cid))
                if spec is None:
                    if key not in getattr(self.raw, section):
                        self.problem(item_path, f"{kind} {key!r} is not defined in the top-level {section} section")
                    continue  # defined but invalid: already reported
                if signal not in spec.factory.signals:
                    supported = ", ".join(sorted(spec.factory.signals))
                    self.problem(
                        item_path, f"{kind} {key!r} does not support {signal} pipelines (it supports {supported})"
                    )
        self.cfg.pipelines.append(
            PipelineSpec(name, signal, settings, ids["receivers"], ids["processors"], ids["exporters"])
        )
