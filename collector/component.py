"""The component model: a config model, a factory, and a lifecycle.

Every receiver, processor and exporter is built by a `Factory` from its validated
config. Lifecycle: `start()` once, then `shutdown()` which must flush, release
kernel resources and be safe to call more than once.
"""

from __future__ import annotations

import abc
import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from collector.model import AttrValue, Data, Signal

if TYPE_CHECKING:
    from collector.telemetry import Telemetry

Kind = Literal["receiver", "processor", "exporter"]


class ComponentConfig(BaseModel):
    """Base for every component's config model: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ConfigT = TypeVar("ConfigT", bound=ComponentConfig)


@dataclass(frozen=True, slots=True)
class ComponentId:
    type: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> ComponentId:
        type_, _, name = text.partition("/")
        return cls(type_, name)

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type


class Notices:
    """Notices between components of one collector. `gone(attribute, value)` says
    that everything carrying that attribute value has ended (k8s_metadata: a pod's
    k8s.pod.uid, a process's process.pid), so state kept for it can go at once
    (cardinality_limit frees the series' slots). Callbacks run synchronously."""

    def __init__(self) -> None:
        self._gone: list[Callable[[str, AttrValue], None]] = []

    def on_gone(self, callback: Callable[[str, AttrValue], None]) -> None:
        self._gone.append(callback)

    def gone(self, attribute: str, value: AttrValue) -> None:
        for callback in self._gone:
            callback(attribute, value)


@dataclass(slots=True)
class ComponentContext:
    """What the runtime gives a component: its id, logger, self-telemetry, and the
    collector-wide notices."""

    id: ComponentId
    kind: Kind
    telemetry: Telemetry
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("ebpf_collector"))
    notices: Notices = field(default_factory=Notices)


class Consumer(Protocol):
    async def consume(self, data: Data) -> None: ...


class Component(abc.ABC, Generic[ConfigT]):
    # How long the runtime waits for shutdown() (an exporter flushing its queue may need longer).
    shutdown_timeout: float = 5.0

    def __init__(self, config: ConfigT, ctx: ComponentContext) -> None:
        self.config = config
        self.ctx = ctx
        self.log = ctx.logger.getChild(str(ctx.id))

    async def start(self) -> None:
        """Acquire resources (load BPF, bind sockets). Raise ComponentError to stop the collector."""

    async def shutdown(self) -> None:
        """Flush and release everything. Idempotent."""


class Receiver(Component[ConfigT]):
    """Produces data. The runtime sets `next` to a consumer per signal it feeds."""

    next: dict[Signal, Consumer]

    def __init__(self, config: ConfigT, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.next = {}

    async def emit(self, signal: Signal, data: Data) -> None:
        consumer = self.next.get(signal)
        if consumer is not None:
            await consumer.consume(data)


class Processor(Component[ConfigT]):
    """Transforms data and passes it on to `next` (may hold it back, e.g. to aggregate).
    A processor instance belongs to one pipeline."""

    next: Consumer

    @abc.abstractmethod
    async def consume(self, data: Data) -> None: ...


class Exporter(Component[ConfigT]):
    """Sends data out. Called from the exporter's own queue task, one batch at a time."""

    @abc.abstractmethod
    async def export(self, data: Data) -> None: ...

    async def export_signal(self, signal: Signal, data: Data) -> None:
        """What the runtime calls: `data` from a pipeline of `signal`. Logs and traces
        both carry EventBatch, so exporters that treat them differently override this."""
        await self.export(data)


class ComponentError(Exception):
    """A component could not start or run; the message is shown to the user as is."""


class Refused(Exception):
    """A processor refuses a batch for now (memory_limiter above its limit). The
    pipeline keeps the batch and offers it again after `retry_after` seconds; while
    it waits, the pipeline queue fills and applies its overflow policy upstream.
    Raise it before changing any state: the same batch comes back."""

    def __init__(self, reason: str, retry_after: float = 1.0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Factory(Generic[ConfigT]):
    type: str
    kind: Kind
    description: str
    config_model: builtins.type[ConfigT]
    create: Callable[[ConfigT, ComponentContext], Component[Any]]
    # Signals the component can produce (receivers) or consume (processors, exporters).
    signals: frozenset[Signal] = frozenset({"metrics", "logs", "traces"})
