"""Receiver `bcc`: BCC C source in the pipeline YAML, compiled at start."""

from collector.component import Factory
from receivers.bcc.config import BccConfig
from receivers.bcc.receiver import BccReceiver

factory = Factory(
    type="bcc",
    kind="receiver",
    description="a BCC C program (inline or from a file) compiled at start: tables become metrics "
    "(BPF_HASH, BPF_ARRAY, BPF_HISTOGRAM) and events (BPF_PERF_OUTPUT)",
    config_model=BccConfig,
    create=BccReceiver,
    signals=frozenset({"metrics", "logs"}),
)
