"""Open, load and attach a CO-RE `.bpf.o` through libbpf, choosing per handler the
first attach alternative that this kernel accepts.

A failed `bpf_object__load` leaves the object unusable, so each retry re-opens it
with the failing alternative disabled. When no alternative of a handler works,
the error names every kind tried, what it needs from the kernel, and the
verifier's last lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from collector.bpf import attach
from collector.bpf.libbpf import LibbpfError, capture_log, check_int, check_ptr, lib
from collector.bpf.maps import BpfMap

log = logging.getLogger("ebpf_collector.bpf")


class BpfLoadError(Exception):
    """A program could not be loaded or attached; the message is meant for users."""


@dataclass(slots=True)
class Variant:
    name: str  # program name in the object
    handler: str
    kind: str  # attach kind, e.g. tp_btf
    section: str


@dataclass(slots=True)
class _Attempt:
    disabled: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)  # program -> reason


_PROG_IN_LOG = re.compile(r"prog '([^']+)'")


class BpfObject:
    """A loaded and attached object. Use `close()` (idempotent) to detach and unload."""

    def __init__(self, path: Path, label: str) -> None:
        self.path = path
        self.label = label
        self._obj: int | None = None
        self._links: list[int] = []
        self.maps: dict[str, BpfMap] = {}
        self.attached: dict[str, Variant] = {}  # handler -> chosen variant
        self.program_fds: dict[str, int] = {}

    # -- loading ----------------------------------------------------------
    @classmethod
    def load(
        cls,
        path: Path,
        label: str | None = None,
        allowed_kinds: Iterable[str] | None = None,
        autoattach: bool = True,
        prepare: Callable[[int], None] | None = None,
    ) -> BpfObject:
        """`prepare(obj)` runs on each freshly opened libbpf object before load: the
        place to resize maps or set `.rodata` settings."""
        self = cls(path, label or path.name)
        allowed = set(allowed_kinds) if allowed_kinds is not None else None
        attempt = _Attempt()
        variants = self._variants()
        for variant in variants:
            if allowed is not None and variant.kind in attach.PREFERENCE and variant.kind not in allowed:
                attempt.disabled.add(variant.name)
                attempt.failures[variant.name] = "not allowed by config"
        for _ in range(len(variants) + 1):
            chosen = self._choose(variants, attempt)
            try:
                self._load_once(chosen, autoattach, prepare)
                self.attached = {v.handler: v for v in chosen}
                for v in chosen:
                    done = "attached" if autoattach else "loaded (attached by the caller)"
                    log.info("%s: %s %s as %s (%s)", self.label, v.handler, done, v.kind, v.section)
                return self
            except _VariantFailed as failed:
                self._close_object()
                attempt.disabled.add(failed.program)
                attempt.failures[failed.program] = failed.reason
        raise BpfLoadError(f"{self.label}: too many load attempts")  # pragma: no cover

    def _variants(self) -> list[Variant]:
        with capture_log() as lines:
            obj = lib().bpf_object__open_file(str(self.path).encode(), None)
        if not obj:
            raise BpfLoadError(
                f"{self.label}: cannot open {self.path}: " + (lines[-1] if lines else "invalid BPF object")
            )
        try:
            return [
                Variant(name, attach.handler_of(name), attach.kind_of_section(section), section)
                for name, section, _ in _programs(obj)
            ]
        finally:
            lib().bpf_object__close(obj)

    def _choose(self, variants: list[Variant], attempt: _Attempt) -> list[Variant]:
        by_handler: dict[str, list[Variant]] = {}
        for v in variants:
            by_handler.setdefault(v.handler, []).append(v)
        chosen = []
        for handler, options in by_handler.items():
            alive = [v for v in options if v.name not in attempt.disabled]
            if not alive:
                raise BpfLoadError(self._no_alternative(handler, options, attempt))
            alive.sort(key=lambda v: attach.PREFERENCE.get(v.kind, 99))
            chosen.append(alive[0])
        return chosen

    def _no_alternative(self, handler: str, options: list[Variant], attempt: _Attempt) -> str:
        lines = [f"{self.label}: cannot attach {handler!r}; this kernel refused every alternative:"]
        for v in options:
            need = attach.NEEDS.get(v.kind, v.kind)
            reason, _, details = attempt.failures.get(v.name, "not tried").partition("\n")
            needs = "" if reason.startswith("rejected by the verifier") else f", needs {need}"
            lines.append(f"  - {v.kind} ({v.section}){needs}: {reason}")
            if details:
                lines.append(details)
        return "\n".join(lines)

    def _load_once(self, chosen: list[Variant], autoattach: bool, prepare: Callable[[int], None] | None) -> None:
        keep = {v.name for v in chosen}
        L = lib()
        with capture_log() as lines:
            obj = L.bpf_object__open_file(str(self.path).encode(), None)
        check_ptr(obj, f"open {self.path}", lines)
        self._obj = obj
        if prepare is not None:
            prepare(obj)
        for name, _, prog in _programs(obj):
            L.bpf_program__set_autoload(prog, name in keep)
        with capture_log() as lines:
            rc = L.bpf_object__load(obj)
        if rc < 0:
            culprit = _culprit(lines, keep)
            if culprit is None:
                raise BpfLoadError(f"{self.label}: load failed: {LibbpfError(-rc, 'load').strerror}\n" + _tail(lines))
            raise _VariantFailed(culprit, _failure(lines, culprit))
        for name, section, prog in _programs(obj):
            if name not in keep:
                continue
            self.program_fds[name] = L.bpf_program__fd(prog)
            if not autoattach or attach.kind_of_section(section) in attach.MANUAL_ATTACH:
                continue
            with capture_log() as lines:
                link = L.bpf_program__attach(prog)
            if not link:
                err = LibbpfError(_errno(), "attach", lines)
                raise _VariantFailed(name, f"attach failed: {err.strerror}")
            self._links.append(link)
        for map_ptr in _maps(obj):
            m = BpfMap.from_libbpf(map_ptr)
            self.maps[m.name] = m

    def program(self, name: str) -> int:
        """The libbpf program pointer, for receivers that attach by hand (uprobes, perf events)."""
        assert self._obj is not None
        for pname, _, prog in _programs(self._obj):
            if pname == name:
                return prog
        raise KeyError(name)

    def add_link(self, link: int) -> None:
        self._links.append(link)

    def map(self, name: str) -> BpfMap:
        try:
            return self.maps[name]
        except KeyError:
            raise BpfLoadError(
                f"{self.label}: the object has no map named {name!r}; it has {', '.join(self.maps)}"
            ) from None

    # -- teardown ---------------------------------------------------------
    def close(self) -> None:
        for link in self._links:
            lib().bpf_link__destroy(link)
        self._links.clear()
        self._close_object()

    def _close_object(self) -> None:
        if self._obj:
            lib().bpf_object__close(self._obj)
            self._obj = None
        self.maps.clear()
        self.program_fds.clear()

    def __enter__(self) -> BpfObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _VariantFailed(Exception):
    def __init__(self, program: str, reason: str) -> None:
        super().__init__(program, reason)
        self.program, self.reason = program, reason


def _programs(obj: int) -> list[tuple[str, str, int]]:
    L = lib()
    out = []
    prog = L.bpf_object__next_program(obj, None)
    while prog:
        out.append((L.bpf_program__name(prog).decode(), L.bpf_program__section_name(prog).decode(), prog))
        prog = L.bpf_object__next_program(obj, prog)
    return out


def _maps(obj: int) -> list[int]:
    L = lib()
    out = []
    m = L.bpf_object__next_map(obj, None)
    while m:
        out.append(m)
        m = L.bpf_object__next_map(obj, m)
    return out


def _culprit(lines: list[str], candidates: set[str]) -> str | None:
    for line in reversed(lines):
        for name in _PROG_IN_LOG.findall(line):
            if name in candidates:
                return str(name)
    return None


# Lines where the verifier says what is wrong (rather than tracing instructions).
_VERIFIER_REASON = re.compile(
    r"invalid|\bR\d+ |unbounded|not allowed|expected|!read_ok|math between|unknown func|"
    r"out of bounds|outside of the allowed|back-edge|too many|misaligned|unreleased|leaks"
)
VERIFIER_TAIL = 8


def _failure(lines: list[str], program: str) -> str:
    """One line saying why `program` failed, then the verifier's own words if it spoke."""
    verifier = _verifier_log(lines)
    if verifier:
        return "rejected by the verifier:\n" + "\n".join("      " + ln for ln in verifier_excerpt(verifier))
    marker = f"prog '{program}': "
    for line in lines:
        if marker in line and "failed" in line:
            return "load failed: " + line.split(marker, 1)[1].strip()
    return "load failed: " + (lines[-1].removeprefix("libbpf: ").strip() if lines else "unknown reason")


def verifier_excerpt(log: list[str], n: int = VERIFIER_TAIL) -> list[str]:
    """The last `n` lines, preceded by the first line that states a reason when that
    line is earlier (the tail alone may be register dumps and instruction counts)."""
    tail = log[-n:]
    start = len(log) - len(tail)
    for i, line in enumerate(log[:start]):
        if _VERIFIER_REASON.search(line):
            return [line, "...", *tail] if i + 1 < start else [line, *tail]
    return tail


def _verifier_log(lines: list[str]) -> list[str]:
    inside, out = False, []
    for line in lines:
        if "-- BEGIN PROG LOAD LOG --" in line:
            inside = True
        elif "-- END PROG LOAD LOG --" in line:
            inside = False
        elif inside and line.strip():
            out.append(line.rstrip())
    return out


def _tail(lines: list[str], n: int = 8, indent: str = "  ") -> str:
    body = [ln for ln in lines if ln.strip() and not ln.startswith("libbpf: elf:")]
    return "\n".join(indent + ln for ln in body[-n:])


def _errno() -> int:
    import ctypes

    return ctypes.get_errno() or 22


__all__ = ["BpfLoadError", "BpfObject", "LibbpfError", "Variant", "check_int"]
