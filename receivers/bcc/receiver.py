"""Receiver `bcc`: a BCC C program from the YAML, compiled at start.

Compilation (clang, a fraction of a second to seconds) and attaching run in a
worker thread, off the event loop. Tables listed under `metrics` are read in
bulk on an interval; BPF_PERF_OUTPUT tables under `events` are polled by one
thread that hands each poll's events on as one EventBatch (logs pipelines).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from collector.bpf.stats import ProgramStats
from collector.component import ComponentContext, ComponentError, Receiver
from collector.model import EventBatch, Metric, now_ns
from collector.polling import MapPoller
from receivers.bcc import metrics as describe
from receivers.bcc.compile import CompileError, SourceOrigin, captured_stderr, compile_bcc, explain
from receivers.bcc.config import AttachConfig, BccConfig
from receivers.bcc.events import PerfReader
from receivers.bcc.tables import dtype_of, read_table


class BccReceiver(Receiver[BccConfig]):
    def __init__(self, config: BccConfig, ctx: ComponentContext) -> None:
        super().__init__(config, ctx)
        self._bpf: Any = None
        self._readers: list[PerfReader] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.poller = MapPoller(
            ctx, config.interval, self._collect, self.emit, (OSError, ValueError, describe.DescriptionError)
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_ns = now_ns()
        t, rid = ctx.telemetry, str(ctx.id)
        self._received = t.counter("receiver_events_received", "Kernel events received, per program table")
        self._lost = t.counter("receiver_events_lost", "Kernel events lost (perf buffer overrun), per program table")
        self._rid = rid
        self._stats: ProgramStats | None = None

    # -- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stats = ProgramStats(self.ctx.telemetry, self._rid, run_time=self.config.bpf_stats)
        try:
            await asyncio.to_thread(self._build)
        except (CompileError, ComponentError, OSError, ValueError) as exc:
            await asyncio.to_thread(self._cleanup)
            raise ComponentError(str(exc)) from exc
        self._start_ns = now_ns()
        if self._readers:
            self._thread = threading.Thread(target=self._poll_events, name=f"{self.ctx.id}:perf", daemon=True)
            self._thread.start()
        if self.config.metrics.counters or self.config.metrics.histograms:
            self.poller.start()

    async def shutdown(self) -> None:
        """Stop reading, hand on what is pending (events and a last reading), detach."""
        await self.poller.stop()
        self._stop.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        await asyncio.to_thread(self._cleanup)

    def _build(self) -> None:
        cfg = self.config
        try:
            text = cfg.source_text()
        except OSError as exc:
            raise ComponentError(f"cannot read source_file {cfg.source_file}: {exc.strerror}") from None
        origin = SourceOrigin(cfg.source_file) if cfg.source_file else SourceOrigin.inline(cfg.source_position)
        self.log.info("compiling the BCC program (%d lines)", text.count("\n") + 1)
        self._bpf = compile_bcc(text, cfg.cflags, origin)
        for i, point in enumerate(cfg.attach):
            self._attach(i, point, origin)
        if self._stats is not None:
            # Every function BCC loaded: attached from `attach`, or by itself from its name prefix
            kinds = {point.handler: point.kind for point in cfg.attach}
            for name, func in self._bpf.funcs.items():
                handler = name.decode()
                self._stats.add(self, func.fd, "bcc", handler, kinds.get(handler) or _autoattach_kind(handler))
        # A table named wrongly fails here, not at the first read.
        for kind, name in [
            *(("metrics", d.table_name) for d in (*cfg.metrics.counters, *cfg.metrics.histograms)),
            *(("events", e.table) for e in cfg.events),
        ]:
            try:
                self._bpf[name.encode()]
            except KeyError:
                raise ComponentError(f"{kind}: the program has no table {name!r}") from None
        self._check_descriptions()
        for events in cfg.events:
            self._readers.append(PerfReader(self._bpf, events, self._lost_counter(events.table)))

    def _check_descriptions(self) -> None:
        """Fit each description to its table's C types now: a label naming a missing
        field is a start error, not a log line at every read."""
        cfg = self.config
        checks: list[tuple[str, Any]] = [
            *((f"counters[{i}]", partial(describe.counter, d)) for i, d in enumerate(cfg.metrics.counters)),
            *((f"histograms[{i}]", partial(describe.histogram, d)) for i, d in enumerate(cfg.metrics.histograms)),
        ]
        for (where, build), desc in zip(checks, (*cfg.metrics.counters, *cfg.metrics.histograms), strict=True):
            table = self._bpf[desc.table_name.encode()]
            keys, values = np.zeros(0, dtype_of(table.Key)), np.zeros(0, dtype_of(table.Leaf))
            try:
                build(keys, values, 0, 0)
            except describe.DescriptionError as exc:
                raise ComponentError(f"metrics.{where} ({desc.name}): {exc}") from None

    def _attach(self, index: int, point: AttachConfig, origin: SourceOrigin) -> None:
        b, fn = self._bpf, point.handler.encode()
        output: list[str] = []
        try:
            with captured_stderr(output):
                if point.kind in ("uprobe", "uretprobe"):
                    attach = b.attach_uprobe if point.kind == "uprobe" else b.attach_uretprobe
                    attach(
                        name=_b(point.binary),
                        sym=_b(point.symbol) or b"",
                        addr=point.offset,
                        fn_name=fn,
                        pid=point.pid or -1,
                    )
                elif point.kind == "tracepoint":
                    b.attach_tracepoint(tp=_b(point.tracepoint), fn_name=fn)
                elif point.kind == "raw_tracepoint":
                    b.attach_raw_tracepoint(tp=_b(point.tracepoint), fn_name=fn)
                elif point.kind == "kprobe":
                    b.attach_kprobe(event=_b(point.symbol), fn_name=fn)
                else:
                    b.attach_kretprobe(event=_b(point.symbol), fn_name=fn)
        except Exception as exc:  # BCC raises bare Exception for load and attach failures
            message = explain(exc, output[0], origin)
            raise ComponentError(f"attach[{index}] ({point.kind} {point.handler}): {message}") from None

    def _cleanup(self) -> None:
        self._readers.clear()
        if self._stats is not None:
            self._stats.close()  # before BCC closes the program fds
        if self._bpf is not None:
            self._bpf.cleanup()
            self._bpf = None

    # -- events --------------------------------------------------------------------
    def _lost_counter(self, table: str) -> Callable[[int], None]:
        def lost(n: int) -> None:
            self._lost.add(n, table=table, receiver=self._rid)

        return lost

    def _poll_events(self) -> None:
        timeout_ms = max(1, int(self.config.poll_timeout * 1000))
        while True:
            stopping = self._stop.is_set()
            try:
                self._bpf.perf_buffer_poll(timeout_ms)
                self._bpf.perf_buffer_consume()  # what arrived below the wakeup threshold
            except Exception as exc:  # pragma: no cover - a broken perf buffer should not kill silently
                self.log.error("reading perf buffers failed: %s", exc)
                return
            for reader in self._readers:
                records = reader.drain()
                if records is None:
                    continue
                self._received.add(len(records), table=reader.table, receiver=self._rid)
                batch = EventBatch(source=f"{self.ctx.id}/{reader.table}", records=records, time_ns=now_ns())
                assert self._loop is not None
                # Waiting for the pipeline to take the batch is our back-pressure:
                # meanwhile the kernel buffers, and counts what it has to drop.
                future = asyncio.run_coroutine_threadsafe(self.emit("logs", batch), self._loop)
                try:
                    future.result()
                except Exception as exc:  # the pipeline's problem; keep reading the kernel
                    self.log.error("handing on %d events failed: %s", len(records), exc)
            if stopping:
                return

    # -- metrics -------------------------------------------------------------------
    async def poll(self) -> None:
        await self.poller.poll()

    def _collect(self) -> list[Metric]:
        if self._bpf is None:
            return []
        now, out = now_ns(), []
        for counter in self.config.metrics.counters:
            keys, values = read_table(self._bpf[counter.table_name.encode()], counter.table_name)
            out.append(describe.counter(counter, keys, values, self._start_ns, now))
        for hist in self.config.metrics.histograms:
            keys, values = read_table(self._bpf[hist.table_name.encode()], hist.table_name)
            out.append(describe.histogram(hist, keys, values, self._start_ns, now))
        return out


_AUTOATTACH_PREFIXES = (
    ("kprobe__", "kprobe"),
    ("kretprobe__", "kretprobe"),
    ("tracepoint__", "tracepoint"),
    ("raw_tracepoint__", "raw_tracepoint"),
    ("kfunc__", "fentry"),
    ("kretfunc__", "fexit"),
    ("lsm__", "lsm"),
)


def _autoattach_kind(handler: str) -> str:
    """BCC attaches functions by their name prefix (TRACEPOINT_PROBE -> tracepoint__...)."""
    for prefix, kind in _AUTOATTACH_PREFIXES:
        if handler.startswith(prefix):
            return kind
    return "none"  # loaded, not attached by BCC (e.g. a tail-call target)


def _b(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None
