"""Attach kinds, read from SEC() names, and the order we prefer them in.

A program that declares alternatives names them `<handler>__<kind>` (for example
`sched_switch__tp_btf`, `sched_switch__raw_tp`, `sched_switch__tp`); the loader
enables exactly one per handler, the first that this kernel accepts."""

from __future__ import annotations

# Section prefix -> attach kind, in libbpf's spelling.
_SECTION_KINDS: tuple[tuple[str, str], ...] = (
    ("tp_btf/", "tp_btf"),
    ("fentry/", "fentry"),
    ("fexit/", "fexit"),
    ("fmod_ret/", "fmod_ret"),
    ("raw_tp/", "raw_tp"),
    ("raw_tracepoint/", "raw_tp"),
    ("tp/", "tracepoint"),
    ("tracepoint/", "tracepoint"),
    ("kprobe/", "kprobe"),
    ("kretprobe/", "kretprobe"),
    ("ksyscall/", "kprobe"),
    ("uprobe", "uprobe"),
    ("uretprobe", "uretprobe"),
    ("usdt", "usdt"),
    ("perf_event", "perf_event"),
    ("socket", "socket"),
    ("iter/", "iter"),
)

# Lower is preferred: BTF-typed hooks are cheapest, plain tracepoints work everywhere.
PREFERENCE: dict[str, int] = {
    "tp_btf": 0,
    "fentry": 1,
    "fexit": 1,
    "raw_tp": 2,
    "kprobe": 3,
    "kretprobe": 3,
    "tracepoint": 4,
}

# What a kind needs from the kernel, for error messages when every alternative fails.
NEEDS: dict[str, str] = {
    "tp_btf": "BTF-enabled tracepoints (CONFIG_DEBUG_INFO_BTF, kernel >= 5.5)",
    "fentry": "fentry/fexit trampolines (BPF_TRAMPOLINE support)",
    "fexit": "fentry/fexit trampolines (BPF_TRAMPOLINE support)",
    "raw_tp": "raw tracepoints (kernel >= 4.17)",
    "tracepoint": "tracepoints (CONFIG_TRACEPOINTS and tracefs)",
    "kprobe": "kprobes (CONFIG_KPROBES)",
    "kretprobe": "kprobes (CONFIG_KPROBES)",
    "uprobe": "uprobes (CONFIG_UPROBE_EVENTS)",
    "perf_event": "perf events (CONFIG_PERF_EVENTS)",
    "socket": "socket filters",
}


# Kinds libbpf cannot attach on its own: the receiver attaches them (a socket
# filter goes on a socket the receiver opens), so the loader only loads them.
MANUAL_ATTACH: frozenset[str] = frozenset({"socket"})


def kind_of_section(section: str) -> str:
    for prefix, kind in _SECTION_KINDS:
        if section.startswith(prefix):
            return kind
    return section.split("/", 1)[0]


def handler_of(program_name: str) -> str:
    """`sched_switch__tp_btf` -> `sched_switch`; names without `__` are their own handler."""
    base, sep, _ = program_name.rpartition("__")
    return base if sep else program_name
