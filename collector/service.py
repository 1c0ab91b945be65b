"""The pipeline runtime: builds components from a validated config, wires them
into pipelines, runs them on asyncio and shuts them down in data-flow order.

    receivers ──► pipeline queue ──► processors (in order) ──► fan-out ──► exporter queues ──► exporters

One receiver instance feeds every pipeline that names it; processors are built
per pipeline; one exporter instance serves every pipeline that names it. Data is
shared between fan-out branches, so components must not mutate what they receive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sized
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from collector.component import (
    Component,
    ComponentContext,
    ComponentError,
    ComponentId,
    Consumer,
    Exporter,
    Kind,
    Notices,
    Processor,
    Receiver,
    Refused,
)
from collector.config import CollectorConfig, PipelineSpec
from collector.model import Data, Signal
from collector.queues import BoundedQueue, item_count
from collector.telemetry import Telemetry

log = logging.getLogger("ebpf_collector")


class FanOut:
    def __init__(self, consumers: Iterable[Consumer]) -> None:
        self.consumers = list(consumers)

    async def consume(self, data: Data) -> None:
        for consumer in self.consumers:
            await consumer.consume(data)


Item = TypeVar("Item", bound=Sized)


@dataclass(frozen=True, slots=True)
class Routed:
    """Data on its way into an exporter, with the signal of the pipeline it came from."""

    signal: Signal
    data: Data

    def __len__(self) -> int:
        return len(self.data)


class _QueueWorker(Generic[Item]):
    """Drains a BoundedQueue into a handler on its own task; errors are counted and
    logged, never allowed to kill the task."""

    def __init__(self, name: str, queue: BoundedQueue[Item], kind: str, telemetry: Telemetry) -> None:
        self.name = name
        self.queue = queue
        self.kind = kind
        self.task: asyncio.Task[None] | None = None
        self._failed = telemetry.counter(f"{kind}_failed_items", f"Items a {kind} failed to handle")
        self._refused = telemetry.counter(
            f"{kind}_refused_items", f"Items a {kind} was refused (e.g. by memory_limiter) and offered again"
        )
        self._done = telemetry.counter(f"{kind}_handled_items", f"Items a {kind} handled")
        self._last_error = ""

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"{self.kind}:{self.name}")

    async def handle(self, data: Item) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        while True:
            data = await self.queue.get()
            try:
                await self._handle_until_accepted(data)
                self._done.add(item_count(data), **{self.kind: self.name})
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a component's bug or a backend's answer must not stop the flow
                self._failed.add(item_count(data), **{self.kind: self.name})
                message = f"{type(exc).__name__}: {exc}"
                if message != self._last_error:  # log each distinct failure once in a row
                    log.error(
                        "%s %s failed: %s", self.kind, self.name, message, exc_info=log.isEnabledFor(logging.DEBUG)
                    )
                    self._last_error = message
            finally:
                self.queue.task_done()

    async def _handle_until_accepted(self, data: Item) -> None:
        """A refused batch is offered again after the delay the refusal asks for;
        meanwhile the queue fills and its overflow policy pushes back upstream."""
        while True:
            try:
                await self.handle(data)
                return
            except Refused as exc:
                self._refused.add(item_count(data), **{self.kind: self.name})
                if str(exc) != self._last_error:
                    log.warning("%s %s: data refused, will retry: %s", self.kind, self.name, exc)
                    self._last_error = str(exc)
                await asyncio.sleep(exc.retry_after)

    async def drain(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.queue.join(), timeout)
        except TimeoutError:
            log.warning("%s %s: %d batches not drained before the deadline", self.kind, self.name, self.queue.qsize())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None


class PipelineRunner(_QueueWorker[Data]):
    def __init__(self, spec: PipelineSpec, head: Consumer, telemetry: Telemetry) -> None:
        q = spec.settings.queue
        super().__init__(
            spec.name, BoundedQueue(f"pipeline/{spec.name}", q.size, q.overflow, telemetry), "pipeline", telemetry
        )
        self.spec = spec
        self.head = head

    async def consume(self, data: Data) -> None:
        await self.queue.put(data)

    async def handle(self, data: Data) -> None:
        await self.head.consume(data)


class ExporterRunner(_QueueWorker[Routed]):
    def __init__(self, exporter: Exporter[Any], name: str, size: int, telemetry: Telemetry) -> None:
        super().__init__(name, BoundedQueue(f"exporter/{name}", size, "drop_oldest", telemetry), "exporter", telemetry)
        self.exporter = exporter

    def edge(self, signal: Signal) -> Consumer:
        """The consumer a pipeline of `signal` feeds."""
        return _ExporterEdge(self, signal)

    async def handle(self, item: Routed) -> None:
        await self.exporter.export_signal(item.signal, item.data)


class _ExporterEdge:
    def __init__(self, runner: ExporterRunner, signal: Signal) -> None:
        self.runner, self.signal = runner, signal

    async def consume(self, data: Data) -> None:
        await self.runner.queue.put(Routed(self.signal, data))


class Service:
    EXPORTER_QUEUE_SIZE = 256

    def __init__(self, config: CollectorConfig, telemetry: Telemetry | None = None) -> None:
        self.config = config
        self.telemetry = telemetry or Telemetry()
        self.receivers: dict[ComponentId, Receiver[Any]] = {}
        self.exporters: dict[ComponentId, ExporterRunner] = {}
        self.pipelines: list[PipelineRunner] = []
        self.processors: list[list[Processor[Any]]] = []
        self._started: list[Component[Any]] = []
        self.notices = Notices()
        self._stopped = False
        self._accepted = self.telemetry.counter("receiver_accepted_items", "Datapoints or events a receiver produced")
        self._build()

    def _create(self, kind: Kind, cid: ComponentId) -> Component[Any]:
        spec = self.config.get(kind, cid)
        ctx = ComponentContext(cid, kind, self.telemetry, notices=self.notices)
        return spec.factory.create(spec.config, ctx)

    def _build(self) -> None:
        for pipe in self.config.pipelines:
            for cid in pipe.exporters:
                if cid not in self.exporters:
                    exporter = self._create("exporter", cid)
                    assert isinstance(exporter, Exporter)
                    self.exporters[cid] = ExporterRunner(exporter, str(cid), self.EXPORTER_QUEUE_SIZE, self.telemetry)
            tail: Consumer = FanOut(self.exporters[cid].edge(pipe.signal) for cid in pipe.exporters)
            chain: list[Processor[Any]] = []
            for cid in reversed(pipe.processors):
                processor = self._create("processor", cid)
                assert isinstance(processor, Processor)
                processor.next = tail
                tail = processor
                chain.insert(0, processor)
            self.processors.append(chain)
            self.pipelines.append(PipelineRunner(pipe, tail, self.telemetry))
        for runner in self.pipelines:
            for cid in runner.spec.receivers:
                if cid not in self.receivers:
                    receiver = self._create("receiver", cid)
                    assert isinstance(receiver, Receiver)
                    self.receivers[cid] = receiver
        for cid, receiver in self.receivers.items():
            by_signal: dict[str, list[Consumer]] = {}
            for runner in self.pipelines:
                if cid in runner.spec.receivers:
                    by_signal.setdefault(runner.spec.signal, []).append(runner)
            for signal, consumers in by_signal.items():
                receiver.next[signal] = _Counting(FanOut(consumers), self._accepted, str(cid))

    async def start(self) -> None:
        """Start in reverse data-flow order so nothing is emitted into a stopped stage.
        On failure, everything already started is shut down before the error propagates."""
        try:
            for runner in self.exporters.values():
                await self._start(runner.exporter)
                runner.start()
            for chain in self.processors:
                for processor in chain:
                    await self._start(processor)
            for pipeline in self.pipelines:
                pipeline.start()
            for receiver in self.receivers.values():
                await self._start(receiver)
        except BaseException:
            await self.shutdown()
            raise

    async def _start(self, component: Component[Any]) -> None:
        try:
            await component.start()
        except ComponentError as exc:
            raise ComponentError(f"{component.ctx.kind} {component.ctx.id}: {exc}") from exc
        self._started.append(component)

    async def shutdown(self, deadline: float = 10.0) -> None:
        """Stop receivers, drain pipelines, shut processors down in order (they flush
        into the next stage), drain exporter queues, then shut exporters down."""
        if self._stopped:
            return
        self._stopped = True
        started = set(map(id, self._started))
        for receiver in self.receivers.values():
            if id(receiver) in started:
                await self._shutdown(receiver)
        for runner, chain in zip(self.pipelines, self.processors, strict=True):
            await runner.drain(deadline / 3)
            await runner.stop()
            for processor in chain:
                if id(processor) in started:
                    await self._shutdown(processor)
        for ex in self.exporters.values():
            await ex.drain(deadline / 3)
            await ex.stop()
            if id(ex.exporter) in started:
                await self._shutdown(ex.exporter)

    async def _shutdown(self, component: Component[Any]) -> None:
        try:
            await asyncio.wait_for(component.shutdown(), component.shutdown_timeout)
        except Exception as exc:
            log.error("%s %s: shutdown failed: %s", component.ctx.kind, component.ctx.id, exc)


class _Counting:
    def __init__(self, inner: Consumer, counter: Any, name: str) -> None:
        self.inner, self.counter, self.name = inner, counter, name

    async def consume(self, data: Data) -> None:
        self.counter.add(item_count(data), receiver=self.name)
        await self.inner.consume(data)
