"""Receiver `ebpf_programs`: ebpf_exporter programs run unchanged (`<name>.bpf.o` +
`<name>.yaml` in its schema), plus built-in programs like `packets`."""

from collector.component import Factory
from receivers.ebpf_programs.config import EbpfProgramsConfig
from receivers.ebpf_programs.receiver import EbpfProgramsReceiver

factory = Factory(
    type="ebpf_programs",
    kind="receiver",
    description="ebpf_exporter-compatible programs: CO-RE object + counters/histograms with decoders, polled",
    config_model=EbpfProgramsConfig,
    create=EbpfProgramsReceiver,
    signals=frozenset({"metrics"}),
)
