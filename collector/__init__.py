"""ebpf-collector core: config, component registry, pipeline runtime, data model, BPF loading."""

__version__ = "0.1.0"
