from __future__ import annotations

import asyncio
import contextlib

from collector.bpf import BpfLoadError
from collector.bpf.stats import ProgramStats
from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import EventBatch
from receivers.ebpf_events.config import EbpfEventsConfig
from receivers.ebpf_events.profile import Profiler
from receivers.ebpf_events.stream import EventStream, StreamSpec

PROFILE_RESOLVE_EVERY = 2.0  # seconds


class EbpfEventsReceiver(Receiver[EbpfEventsConfig]):
    """Event streams read in batches: a timer (`max_latency`) plus epoll readiness of
    the buffers (the programs ask for a wakeup only when a buffer fills up) trigger
    one drain of every stream; each drain emits one EventBatch per program to every
    pipeline this receiver feeds (logs, traces, or metrics through an aggregate
    processor)."""

    def __init__(self, config: EbpfEventsConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self.streams: list[EventStream] = []
        self.profiler: Profiler | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []  # cancelled at shutdown
        self._drain_task: asyncio.Task[None] | None = None  # finishes its drain, then stops
        self._watched: list[int] = []
        self._stopping = False
        t = ctx.telemetry
        self._received = t.counter("events_received", "Kernel events read from BPF buffers, per program")
        self._lost = t.counter("events_lost", "Kernel events lost (buffer full), per program")
        self._read_errors = t.counter("receiver_poll_errors", "Failed reads of BPF maps or buffers")
        self._stats: ProgramStats | None = None

    async def start(self) -> None:
        self._stats = stats = ProgramStats(self.ctx.telemetry, str(self.ctx.id), run_time=self.config.bpf_stats)
        try:
            for program in self.config.programs:
                if program == "profile":
                    self.profiler = await asyncio.to_thread(Profiler, self.config.profile)
                    stats.track(self.profiler.obj, "profile")
                    continue
                spec = StreamSpec.of(program, self.config)
                stream = await asyncio.to_thread(EventStream, spec, self.config)
                self.streams.append(stream)
                stats.track(stream.obj, stream.name)
                # the series exist (at 0) from the start: "no loss" is visible, not absent
                self._received.add(0, receiver=str(self.ctx.id), program=stream.name)
                self._lost.add(0, receiver=str(self.ctx.id), program=stream.name)
        except (BpfLoadError, OSError, ValueError) as exc:
            await self.shutdown()
            raise ComponentError(str(exc)) from exc
        loop = asyncio.get_running_loop()
        for stream in self.streams:
            for fd in stream.fds:
                loop.add_reader(fd, self._wake.set)
                self._watched.append(fd)
        if self.streams:
            self._drain_task = asyncio.create_task(self._drain_loop(), name=f"receiver:{self.ctx.id}")
        if self.profiler is not None:
            self._tasks.append(asyncio.create_task(self._profile_loop(), name=f"receiver:{self.ctx.id}:profile"))

    async def _drain_loop(self) -> None:
        # Stopped by a flag, not by cancellation: asyncio.wait_for in Python 3.11 can
        # swallow a cancel that races with its timeout, which would hang shutdown.
        loop = asyncio.get_running_loop()
        while not self._stopping:
            timer = loop.call_later(self.config.max_latency, self._wake.set)
            await self._wake.wait()
            timer.cancel()
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.drain()
            except (OSError, ValueError) as exc:  # keep reading: the next drain may succeed
                self._read_errors.add(receiver=str(self.ctx.id))
                self.log.error("reading events failed: %s", exc)

    async def drain(self) -> int:
        """Read every stream once and emit what was there; returns the number of events."""
        total = 0
        for stream in self.streams:
            labels = {"receiver": str(self.ctx.id), "program": stream.name}
            lost = stream.lost()
            if lost:
                self._lost.add(lost, **labels)
            batch = stream.read()
            if batch is None:
                continue
            self._received.add(len(batch), **labels)
            total += len(batch)
            await self._emit_all(batch)
        return total

    async def _profile_loop(self) -> None:
        # Symbolise every few seconds (short-lived processes take their maps with
        # them), emit once per interval.
        interval = self.config.profile.interval
        step = min(PROFILE_RESOLVE_EVERY, interval)
        loop = asyncio.get_running_loop()
        next_emit = loop.time() + interval
        while True:
            await asyncio.sleep(min(step, max(0.0, next_emit - loop.time())))
            if loop.time() >= next_emit:
                next_emit += interval
                await self.flush_profile()
            elif self.profiler is not None:
                await asyncio.to_thread(self.profiler.resolve)

    async def flush_profile(self) -> None:
        """Emit the folded stacks sampled so far."""
        if self.profiler is None:
            return
        batch = await asyncio.to_thread(self.profiler.take)
        if batch is not None:
            self._received.add(int(batch.records["count"].sum()), receiver=str(self.ctx.id), program="profile")
            await self._emit_all(batch)

    async def _emit_all(self, batch: EventBatch) -> None:
        for signal in list(self.next):
            await self.emit(signal, batch)

    async def shutdown(self) -> None:
        """Stop reading, emit what is still buffered, detach and unload."""
        self._stopping = True
        self._wake.set()
        had_tasks = bool(self._tasks) or self._drain_task is not None
        if self._drain_task is not None:
            try:
                await self._drain_task  # not cancelled: a batch being emitted must not be dropped
            except Exception as exc:  # it died earlier; still release the kernel side below
                self.log.error("event reader stopped: %s", exc)
            self._drain_task = None
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        loop = asyncio.get_running_loop()
        for fd in self._watched:
            loop.remove_reader(fd)
        self._watched.clear()
        if had_tasks:
            await self.drain()
            await self.flush_profile()
        for stream in self.streams:
            if self._stats is not None:
                self._stats.untrack(stream.obj)
            stream.close()
        self.streams.clear()
        if self.profiler is not None:
            if self._stats is not None:
                self._stats.untrack(self.profiler.obj)
            self.profiler.close()
            self.profiler = None
        if self._stats is not None:
            self._stats.close()
